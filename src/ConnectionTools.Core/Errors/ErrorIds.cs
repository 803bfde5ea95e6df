namespace ConnectionTools.Errors
{
    /// <summary>Every error id Core raises, in one place, so docs and tests can enumerate them.</summary>
    public static partial class ErrorIds
    {
        public const string ConnectionNotFound = "ConnectionTools.Connection.NotFound";
        public const string ConnectionNameInUse = "ConnectionTools.Connection.NameInUse";
        public const string ConnectionAmbiguousName = "ConnectionTools.Connection.AmbiguousName";
        public const string ConnectionInvalidName = "ConnectionTools.Connection.InvalidName";
        public const string ConnectionInvalidDescription = "ConnectionTools.Connection.InvalidDescription";
        public const string ConnectionIllegalTransition = "ConnectionTools.Connection.IllegalTransition";
        public const string ConnectionConflict = "ConnectionTools.Connection.Conflict";
        public const string ConnectionRemoved = "ConnectionTools.Connection.Removed";
        public const string ConnectionModeNotOffered = "ConnectionTools.Connection.ModeNotOffered";
        public const string ConnectionModeDowngrade = "ConnectionTools.Connection.ModeDowngrade";
        public const string ConnectionIntervalNotOffered = "ConnectionTools.Connection.IntervalNotOffered";
        public const string ConnectionInvalidInterval = "ConnectionTools.Connection.InvalidInterval";

        /// <summary>Set-Connection -DefaultCustomer on a connection that is not Dynamics 365, or with a value that is not accounts(guid) or contacts(guid).</summary>
        public const string ConnectionInvalidDefaultCustomer = "ConnectionTools.Connection.InvalidDefaultCustomer";
        public const string SyncRuleReadOnlyInBasicMode = "ConnectionTools.SyncRule.ReadOnlyInBasicMode";
        public const string SyncRuleInvalidScript = "ConnectionTools.SyncRule.InvalidScript";

        public const string StorePathIsDirectory = "ConnectionTools.Store.PathIsDirectory";
        public const string StoreAccessDenied = "ConnectionTools.Store.AccessDenied";
        public const string StoreNotAStore = "ConnectionTools.Store.NotAStore";
        public const string StoreSchemaTooNew = "ConnectionTools.Store.SchemaTooNew";
        public const string StoreReadOnly = "ConnectionTools.Store.ReadOnly";
        public const string StoreBusy = "ConnectionTools.Store.Busy";
        public const string StoreUnavailable = "ConnectionTools.Store.Unavailable";
        public const string StoreInvalidPath = "ConnectionTools.Store.InvalidPath";
        public const string StoreFailed = "ConnectionTools.Store.Failed";
        public const string StoreCorrupt = "ConnectionTools.Store.Corrupt";
        public const string StoreForeignDatabase = "ConnectionTools.Store.ForeignDatabase";
        public const string StoreNotConnected = "ConnectionTools.Store.NotConnected";
        public const string StoreNotFound = "ConnectionTools.Store.NotFound";
        public const string StoreKeyRequired = "ConnectionTools.Store.KeyRequired";
        public const string StoreKeyMismatch = "ConnectionTools.Store.KeyMismatch";
        public const string StoreEngineUnavailable = "ConnectionTools.Store.EngineUnavailable";
        public const string StoreInvalidConnectionString = "ConnectionTools.Store.InvalidConnectionString";
        public const string StorePasswordInConnectionString = "ConnectionTools.Store.PasswordInConnectionString";
        public const string StoreAuthenticationFailed = "ConnectionTools.Store.AuthenticationFailed";
        public const string StoreServerUnreachable = "ConnectionTools.Store.ServerUnreachable";
        public const string StorePrivilegesMissing = "ConnectionTools.Store.PrivilegesMissing";
        public const string StoreDatabaseNotFound = "ConnectionTools.Store.DatabaseNotFound";

        public const string InvitationMalformed = "ConnectionTools.Invitation.Malformed";
        public const string InvitationUnsupportedVersion = "ConnectionTools.Invitation.UnsupportedVersion";
        public const string InvitationTruncated = "ConnectionTools.Invitation.Truncated";
        public const string InvitationMistyped = "ConnectionTools.Invitation.Mistyped";
        public const string InvitationTampered = "ConnectionTools.Invitation.Tampered";
        public const string InvitationExpired = "ConnectionTools.Invitation.Expired";
        public const string InvitationAlreadyUsed = "ConnectionTools.Invitation.AlreadyUsed";
        public const string InvitationSuperseded = "ConnectionTools.Invitation.Superseded";
        public const string InvitationConnectionRemoved = "ConnectionTools.Invitation.ConnectionRemoved";
        public const string InvitationWrongSecret = "ConnectionTools.Invitation.WrongSecret";
        public const string InvitationTooLong = "ConnectionTools.Invitation.TooLong";
        public const string InvitationInvalidLifetime = "ConnectionTools.Invitation.InvalidLifetime";
        public const string InvitationNotPending = "ConnectionTools.Invitation.NotPending";

        public const string SecretUnreadable = "ConnectionTools.Secret.Unreadable";
        public const string SecretKeyUnavailable = "ConnectionTools.Secret.KeyUnavailable";

        public const string AuthorizationInvalidInstanceUrl = "ConnectionTools.Authorization.InvalidInstanceUrl";
        public const string AuthorizationExpired = "ConnectionTools.Authorization.Expired";
        public const string AuthorizationRevoked = "ConnectionTools.Authorization.Revoked";
        public const string AuthorizationConsentRequired = "ConnectionTools.Authorization.ConsentRequired";
        public const string AuthorizationPolicyBlocked = "ConnectionTools.Authorization.PolicyBlocked";
        public const string AuthorizationOrgChanged = "ConnectionTools.Authorization.OrgChanged";
        public const string AuthorizationProviderUnavailable = "ConnectionTools.Authorization.ProviderUnavailable";
        public const string AuthorizationProtocol = "ConnectionTools.Authorization.Protocol";
        public const string AuthorizationInteractionRequired = "ConnectionTools.Authorization.InteractionRequired";
        public const string AuthorizationTimedOut = "ConnectionTools.Authorization.TimedOut";
        public const string AuthorizationDeclined = "ConnectionTools.Authorization.Declined";
        public const string AuthorizationAgreementRequired = "ConnectionTools.Authorization.AgreementRequired";
        public const string AuthorizationInvalidEnvironmentType = "ConnectionTools.Authorization.InvalidEnvironmentType";
        public const string AuthorizationInvalidFlow = "ConnectionTools.Authorization.InvalidFlow";
        public const string AuthorizationCertificateNotFound = "ConnectionTools.Authorization.CertificateNotFound";
        public const string AuthorizationCertificateNoPrivateKey = "ConnectionTools.Authorization.CertificateNoPrivateKey";
        public const string AuthorizationCertificatePassword = "ConnectionTools.Authorization.CertificatePassword";
        public const string AuthorizationInvalidClient = "ConnectionTools.Authorization.InvalidClient";
        public const string AuthorizationNotSystemConnection = "ConnectionTools.Authorization.NotSystemConnection";
        public const string AuthorizationNoGrant = "ConnectionTools.Authorization.NoGrant";
        public const string AuthorizationRefreshInProgress = "ConnectionTools.Authorization.RefreshInProgress";
        public const string AuthorizationRedirectPortInUse = "ConnectionTools.Authorization.RedirectPortInUse";
        public const string ConnectionOrganizationInUse = "ConnectionTools.Connection.OrganizationInUse";
        public const string AuthorizationInstanceUrlRequired = "ConnectionTools.Authorization.InstanceUrlRequired";
        public const string AuthorizationInstanceKindMismatch = "ConnectionTools.Authorization.InstanceKindMismatch";

        // Dynamics 365 environments found through the Global Discovery Service (New-Connection without -InstanceUrl, Find-ConnectionEnvironment).
        public const string EnvironmentNoneFound = "ConnectionTools.Environment.NoneFound";
        public const string EnvironmentNotFound = "ConnectionTools.Environment.NotFound";
        public const string EnvironmentAmbiguous = "ConnectionTools.Environment.Ambiguous";
        public const string EnvironmentChoiceRequired = "ConnectionTools.Environment.ChoiceRequired";
        public const string EnvironmentDiscoveryRefused = "ConnectionTools.Environment.DiscoveryRefused";
        public const string EnvironmentNotApplicable = "ConnectionTools.Environment.NotApplicable";

        public const string JobNotFound = "ConnectionTools.Job.NotFound";
        public const string JobConnectionPaused = "ConnectionTools.Job.ConnectionPaused";
        public const string JobHolding = "ConnectionTools.Job.Holding";
        public const string JobAlreadyRunning = "ConnectionTools.Job.AlreadyRunning";
        public const string JobCancelled = "ConnectionTools.Job.Cancelled";
        public const string JobInterrupted = "ConnectionTools.Job.Interrupted";

        /// <summary>A run whose lease on its job ran out, and another host took the job over: the run stops without committing more.</summary>
        public const string JobLeaseLost = "ConnectionTools.Job.LeaseLost";

        public const string NodeNoPublicUrl = "ConnectionTools.Node.NoPublicUrl";
        public const string NodeInsecureUrl = "ConnectionTools.Node.InsecureUrl";

        public const string PeerUnreachable = "ConnectionTools.Peer.Unreachable";
        public const string PeerUnknownConnection = "ConnectionTools.Peer.UnknownConnection";
        public const string PeerBadSignature = "ConnectionTools.Peer.BadSignature";
        public const string PeerTokenExpired = "ConnectionTools.Peer.TokenExpired";
        public const string PeerReplay = "ConnectionTools.Peer.Replay";
        public const string PeerNotPrivateSide = "ConnectionTools.Peer.NotPrivateSide";
        public const string PeerProtocol = "ConnectionTools.Peer.Protocol";
    }
}
