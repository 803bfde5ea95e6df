using System;
using System.Collections.Generic;

namespace ConnectionTools.Storage
{
    /// <summary>Enum values are stored by name, so the file stays readable; parsing them is on the hot path of every listing.</summary>
    internal static class EnumText<T>
        where T : struct, Enum
    {
        private static readonly Dictionary<string, T> ByName = Build();

        public static T Parse(string value) =>
            ByName.TryGetValue(value, out var parsed) ? parsed : throw new FormatException($"'{value}' is not a {typeof(T).Name} this version knows.");

        private static Dictionary<string, T> Build()
        {
            var map = new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (T value in Enum.GetValues(typeof(T)))
            {
                map[value.ToString()] = value;
            }

            return map;
        }
    }
}
