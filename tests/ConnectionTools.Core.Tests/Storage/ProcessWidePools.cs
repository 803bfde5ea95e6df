namespace ConnectionTools.Core.Tests;

/// <summary>
/// The test classes that clear every SQLite pool of the process (SqliteConnection.ClearAllPools) run alone, after the others.
/// Clearing closes other tests' idle connections, and the last connection of a store to close checkpoints and deletes its WAL,
/// which a test that measures the WAL to prove it wrote nothing then finds gone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWidePools
{
    public const string Name = "Clears every SQLite pool of the process";
}
