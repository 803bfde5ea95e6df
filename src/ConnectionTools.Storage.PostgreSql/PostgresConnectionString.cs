using System;
using System.Globalization;
using ConnectionTools.Errors;
using Npgsql;

namespace ConnectionTools.Storage.PostgreSql
{
    /// <summary>
    /// Reads what an admin writes to name a PostgreSQL store: a postgresql:// URI (libpq's form) or Npgsql's keywords. Neither
    /// may hold a password. No error here repeats the text it was given, since it could hold one.
    /// </summary>
    internal static class PostgresConnectionString
    {
        public static NpgsqlConnectionStringBuilder Parse(string text, string origin)
        {
            var trimmed = text.Trim();
            var settings = trimmed.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
                ? FromUri(trimmed, origin)
                : FromKeywords(trimmed, origin);
            if (!string.IsNullOrEmpty(settings.Password) || !string.IsNullOrEmpty(settings.Passfile))
            {
                throw PasswordGiven(origin);
            }

            if (string.IsNullOrEmpty(settings.Host))
            {
                throw Invalid(origin, "it names no server (Host)");
            }

            if (string.IsNullOrEmpty(settings.Database))
            {
                throw Invalid(origin, "it names no database");
            }

            return settings;
        }

        private static NpgsqlConnectionStringBuilder FromKeywords(string text, string origin)
        {
            try
            {
                return new NpgsqlConnectionStringBuilder(text);
            }
            catch (ArgumentException)
            {
                // Npgsql's message quotes the keyword it did not know, and could quote a value too.
                throw Invalid(origin, "one of its keywords is not an Npgsql connection keyword, or has a value of the wrong kind");
            }
        }

        private static NpgsqlConnectionStringBuilder FromUri(string text, string origin)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            {
                throw Invalid(origin, "it is not a valid postgresql://user@host:port/database URI");
            }

            var settings = new NpgsqlConnectionStringBuilder { Host = uri.Host };
            if (!uri.IsDefaultPort && uri.Port > 0)
            {
                settings.Port = uri.Port;
            }

            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                var colon = uri.UserInfo.IndexOf(':');
                if (colon >= 0)
                {
                    throw PasswordGiven(origin);
                }

                settings.Username = Uri.UnescapeDataString(uri.UserInfo);
            }

            var database = uri.AbsolutePath.Trim('/');
            if (database.Length > 0)
            {
                settings.Database = Uri.UnescapeDataString(database);
            }

            foreach (var pair in uri.Query.TrimStart('?').Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries))
            {
                var equals = pair.IndexOf('=');
                var name = Uri.UnescapeDataString(equals < 0 ? pair : pair.Substring(0, equals));
                var value = equals < 0 ? "" : Uri.UnescapeDataString(pair.Substring(equals + 1));
                switch (name)
                {
                    case "sslmode":
                        settings.SslMode = (SslMode)Enum.Parse(typeof(SslMode), value.Replace("-", ""), ignoreCase: true);
                        break;
                    case "connect_timeout":
                        settings.Timeout = int.Parse(value, CultureInfo.InvariantCulture);
                        break;
                    case "application_name":
                        settings.ApplicationName = value;
                        break;
                    case "search_path":
                        settings.SearchPath = value;
                        break;
                    case "password":
                        throw PasswordGiven(origin);
                    default:
                        throw Invalid(origin, $"its parameter '{name}' is not one this module reads (sslmode, connect_timeout, application_name, search_path)");
                }
            }

            return settings;
        }

        private static ConnectionToolsException PasswordGiven(string origin) => new ConnectionToolsException(
            ErrorIds.StorePasswordInConnectionString,
            ErrorKind.InvalidArgument,
            $"The PostgreSQL connection string from {origin} holds a password. It was not used, and is not repeated here: a password in a connection string ends up in history, logs and output.",
            origin,
            "Remove the password, and give it with -Credential, the PGPASSWORD variable or a PGPASSFILE entry.");

        private static ConnectionToolsException Invalid(string origin, string reason) => new ConnectionToolsException(
            ErrorIds.StoreInvalidConnectionString,
            ErrorKind.InvalidArgument,
            $"The PostgreSQL connection string from {origin} cannot be used: {reason}.",
            origin,
            "Give a URI such as postgresql://user@db.example.com:5432/connectiontools, or Npgsql keywords such as Host=db.example.com;Username=user;Database=connectiontools.");
    }
}
