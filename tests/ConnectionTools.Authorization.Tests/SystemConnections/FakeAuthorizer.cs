using System.Collections.Concurrent;
using ConnectionTools.Connections;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// A scripted provider for the command-level tests: which org a grant reaches, whether the provider refuses, and what was asked.
/// The real providers are tested against the emulators; this one isolates the commands' own rules (order of checks, store writes).
/// </summary>
internal sealed class FakeAuthorizer : ISystemAuthorizer
{
    public string OrganizationId { get; set; } = "00D000000000001AAA";

    /// <summary>The org an instance URL reaches; by default <see cref="OrganizationId"/> for every URL.</summary>
    public Func<Uri, string>? OrganizationOf { get; set; }

    public ProviderRefusedException? RefuseRefresh { get; set; }

    public ProviderRefusedException? RefuseAuthorize { get; set; }

    public bool FailRevoke { get; set; }

    public TimeSpan Latency { get; set; }

    public ConcurrentQueue<string> Calls { get; } = new();

    public ConcurrentQueue<AuthorizationSpec> Specs { get; } = new();

    public int Concurrent;

    public int MaxConcurrent;

    public async Task<AuthorizationOutcome> AuthorizeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
    {
        Calls.Enqueue("authorize");
        Specs.Enqueue(spec);
        await Busy(cancellationToken);
        if (RefuseAuthorize != null)
        {
            throw RefuseAuthorize;
        }

        var grant = new GrantMaterial
        {
            Flow = spec.Flow,
            ClientId = spec.ClientId,
            Username = spec.Username,
            TenantId = spec.TenantId,
            ClientSecret = spec.ClientSecret,
            CertificatePath = spec.CertificatePath,
            CertificatePassword = spec.CertificatePassword,
            RefreshToken = spec.Flow is AuthorizationFlow.Interactive or AuthorizationFlow.DeviceCode ? "refresh-" + Guid.NewGuid().ToString("N") : null,
        };
        return new AuthorizationOutcome(OrganizationOf?.Invoke(spec.InstanceUrl) ?? OrganizationId, spec.Username ?? "app:" + spec.ClientId, grant, "access-token");
    }

    public async Task<AuthorizationOutcome> RefreshAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
    {
        Calls.Enqueue("refresh");
        await Busy(cancellationToken);
        if (RefuseRefresh != null)
        {
            throw RefuseRefresh;
        }

        return new AuthorizationOutcome(OrganizationOf?.Invoke(target.InstanceUrl) ?? OrganizationId, grant.Username ?? "app", grant, "access-token");
    }

    public Task<bool> RevokeAsync(SystemTarget target, GrantMaterial grant, AuthorizationContext context, CancellationToken cancellationToken)
    {
        Calls.Enqueue("revoke:" + grant.RefreshToken);
        if (FailRevoke)
        {
            throw ProviderRetry.Unavailable("https://login.example", "connection refused");
        }

        return Task.FromResult(grant.RefreshToken != null);
    }

    private async Task Busy(CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref Concurrent);
        InterlockedMax(ref MaxConcurrent, now);
        try
        {
            if (Latency > TimeSpan.Zero)
            {
                await Task.Delay(Latency, cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref Concurrent);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
