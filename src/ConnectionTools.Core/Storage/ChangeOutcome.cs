using ConnectionTools.Connections;

namespace ConnectionTools.Storage
{
    /// <summary>The connection before and after one unit of work. <see cref="Changed"/> is false for a no-op.</summary>
    public sealed class ChangeOutcome
    {
        public ChangeOutcome(Connection before, Connection after, bool changed)
        {
            Before = before;
            After = after;
            Changed = changed;
        }

        public Connection Before { get; }

        public Connection After { get; }

        public bool Changed { get; }
    }
}
