namespace ConnectionTools.Authorization
{
    /// <summary>The Microsoft cloud a Dynamics 365 environment lives in.</summary>
    public enum EnvironmentType
    {
        Public,
        GCC,
        GCCHigh,
        DoD,
        China,
    }
}
