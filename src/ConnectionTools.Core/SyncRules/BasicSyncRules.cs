namespace ConnectionTools.SyncRules
{
    /// <summary>The rules Basic mode generates for cases: the fields both sides have, sent and applied as they are.</summary>
    public static class BasicSyncRules
    {
        public const string Outgoing =
            "replica.key         = entity.key\n" +
            "replica.summary     = entity.summary\n" +
            "replica.description = entity.description\n" +
            "replica.status      = entity.status\n" +
            "replica.priority    = entity.priority\n" +
            "replica.comments    = entity.comments\n";

        public const string Incoming =
            "if (firstSync) {\n" +
            "    entity.summary = replica.summary\n" +
            "}\n" +
            "entity.description = replica.description\n" +
            "entity.priority    = replica.priority\n" +
            "entity.comments    = commentHelper.mergeComments(entity, replica)\n";

        public static string For(SyncDirection direction) => direction == SyncDirection.Outgoing ? Outgoing : Incoming;
    }
}
