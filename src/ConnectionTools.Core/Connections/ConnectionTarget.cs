using System;

namespace ConnectionTools.Connections
{
    /// <summary>How a cmdlet named the connection to act on: by name, by id, or by an object from the pipeline.</summary>
    public sealed class ConnectionTarget
    {
        private ConnectionTarget(string? name, Guid? id, Connection? connection, string? pattern = null)
        {
            Name = name;
            Id = id;
            Connection = connection;
            Pattern = pattern;
        }

        public string? Name { get; }

        public Guid? Id { get; }

        /// <summary>The object the user passed in; its version is the one the user saw.</summary>
        public Connection? Connection { get; }

        /// <summary>The wildcard pattern this target was found by (its <see cref="Name"/> and <see cref="Id"/> are the match's), or null.</summary>
        public string? Pattern { get; }

        public static ConnectionTarget ByName(string name) => new ConnectionTarget(name, null, null);

        /// <summary>A connection that a wildcard pattern in -Name matched: resolved by its id, reported by its name.</summary>
        internal static ConnectionTarget ByMatch(Connection match, string pattern) => new ConnectionTarget(match.Name, match.Id, null, pattern);

        public static ConnectionTarget ById(Guid id) => new ConnectionTarget(null, id, null);

        public static ConnectionTarget ByObject(Connection connection) => new ConnectionTarget(null, null, connection ?? throw new ArgumentNullException(nameof(connection)));

        public override string ToString() => Name ?? Connection?.Name ?? Id?.ToString() ?? "";
    }
}
