namespace ConnectionTools.Emulators;

/// <summary>
/// Where each org lives: the instance_url its token answers (and identity URLs) name, per org, and the other hosts the
/// emulator answers besides <see cref="SalesforceEmulator.ExpectedHost"/> (login.salesforce.com, test.salesforce.com), so a
/// sign-in can start at the login host and go on at the org's own My Domain, as with Salesforce.
/// </summary>
public sealed partial class SalesforceEmulator
{
    private readonly Dictionary<string, Uri> _instanceUrls = new(StringComparer.Ordinal);
    private readonly HashSet<string> _alsoServed = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Token answers for the users of <paramref name="organizationId"/> name <paramref name="instanceUrl"/> as instance_url.</summary>
    public void SetInstanceUrlForOrganization(string organizationId, Uri instanceUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(organizationId);
        ArgumentNullException.ThrowIfNull(instanceUrl);
        lock (StateGate)
        {
            _instanceUrls[organizationId] = instanceUrl;
        }
    }

    /// <summary>Answers requests under these hosts too (for example the login host), besides <see cref="ExpectedHost"/>.</summary>
    public void AlsoServeHosts(params string[] hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        lock (StateGate)
        {
            _alsoServed.UnionWith(hosts);
        }
    }

    private bool IsAlsoServed(string host)
    {
        lock (StateGate)
        {
            return _alsoServed.Contains(host);
        }
    }

    private Uri InstanceUrlOf(string organizationId)
    {
        lock (StateGate)
        {
            return _instanceUrls.TryGetValue(organizationId, out var own) ? own : InstanceUrl;
        }
    }
}
