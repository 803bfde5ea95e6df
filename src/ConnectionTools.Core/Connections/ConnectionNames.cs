using System;
using ConnectionTools.Errors;

namespace ConnectionTools.Connections
{
    /// <summary>Rules for connection names and descriptions, checked before anything is written.</summary>
    public static class ConnectionNames
    {
        public const int MaxNameLength = 128;
        public const int MaxDescriptionLength = 1024;

        /// <summary>Wildcard characters are refused in names so that a name given to Get-Connection is never ambiguous.</summary>
        private static readonly char[] Reserved = { '*', '?', '[', ']', '`' };

        /// <summary>The key that makes names unique regardless of case.</summary>
        public static string Key(string name) => name.ToUpperInvariant();

        public static bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

        public static string Validate(string? name)
        {
            string? problem = null;
            if (string.IsNullOrWhiteSpace(name))
            {
                problem = "it is empty";
            }
            else if (name!.Length > MaxNameLength)
            {
                problem = $"it is {name.Length} characters long and the limit is {MaxNameLength}";
            }
            else if (char.IsWhiteSpace(name[0]) || char.IsWhiteSpace(name[name.Length - 1]))
            {
                problem = "it starts or ends with white space";
            }
            else if (name.IndexOfAny(Reserved) >= 0)
            {
                problem = "it contains a wildcard character (* ? [ ] `)";
            }
            else if (HasControl(name))
            {
                problem = "it contains a control character";
            }

            if (problem != null)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionInvalidName,
                    ErrorKind.InvalidArgument,
                    $"'{name}' is not a valid connection name: {problem}.",
                    name,
                    $"Use 1 to {MaxNameLength} characters without control or wildcard characters (* ? [ ] `).");
            }

            return name!;
        }

        /// <summary>An instance name as admins know it: 1 to 128 characters, no control characters or surrounding spaces.</summary>
        public static string ValidateInstanceName(string? value, string parameter, string connectionName)
        {
            if (!IsValidInstanceName(value))
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionInvalidName,
                    ErrorKind.InvalidArgument,
                    $"{parameter} '{value}' for connection '{connectionName}' is not a valid instance name: use 1 to {MaxNameLength} characters without control characters or surrounding spaces.",
                    connectionName,
                    "Name the instance the way its admins know it, for example 'contoso-eu'.");
            }

            return value!;
        }

        public static bool IsValidInstanceName(string? value) =>
            !string.IsNullOrWhiteSpace(value) && value!.Length <= MaxNameLength && value.Trim() == value && !HasControl(value);

        /// <summary>True when the text holds a control character, which would reach a terminal as an escape sequence.</summary>
        internal static bool HasControl(string value)
        {
            foreach (var c in value)
            {
                if (char.IsControl(c))
                {
                    return true;
                }
            }

            return false;
        }

        public static string ValidateDescription(string? description, string connectionName)
        {
            var value = description ?? "";
            if (value.Length > MaxDescriptionLength)
            {
                throw new ConnectionToolsException(
                    ErrorIds.ConnectionInvalidDescription,
                    ErrorKind.InvalidArgument,
                    $"The description for connection '{connectionName}' is {value.Length} characters long and the limit is {MaxDescriptionLength}.",
                    connectionName,
                    "Shorten the description.");
            }

            return value;
        }
    }
}
