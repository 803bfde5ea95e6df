using ConnectionTools.Configuration;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;
using ConnectionTools.Storage;

namespace ConnectionTools.Core.Tests.Configuration;

/// <summary>
/// Stands in for the system-connection engine: creates and re-authorizes connections in the real store and keeps their
/// settings in memory. Refuses authorization for the names in <see cref="Refuse"/>, as a revoked consent would.
/// </summary>
internal sealed class FakeSystemConnections : ISystemConnectionActions
{
    private readonly ConnectionStore _store;

    public FakeSystemConnections(ConnectionStore store)
    {
        _store = store;
    }

    public Dictionary<Guid, SystemConnectionSettings> Settings { get; } = new();

    public HashSet<string> Refuse { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<(string Name, ResolvedSecrets Secrets)> Calls { get; } = new();

    /// <summary>Names whose check (made while planning) fails, as a missing certificate would.</summary>
    public HashSet<string> FailCheck { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<string> Checks { get; } = new();

    public void Check(SystemConnectionDeclaration declaration, Connection? current, ResolvedSecrets secrets, IHostContext host)
    {
        Checks.Add(declaration.Name);
        if (FailCheck.Contains(declaration.Name))
        {
            throw new ConnectionToolsException(ErrorIds.AuthorizationCertificateNotFound, ErrorKind.ObjectNotFound, $"The certificate of '{declaration.Name}' does not exist. Nothing was sent.", declaration.Name, "Give the path of the .pfx file.");
        }
    }

    public IReadOnlyDictionary<Guid, SystemConnectionSettings> ReadSettings() => new Dictionary<Guid, SystemConnectionSettings>(Settings);

    public Connection Create(SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host)
    {
        Calls.Add((declaration.Name, secrets));
        RefuseIfAsked(declaration.Name);
        var created = _store.Create(new Connection { Id = Guid.NewGuid(), Name = declaration.Name, Type = declaration.Type, Status = ConnectionStatus.Active, Description = declaration.Description ?? "" }, "tester");
        Settings[created.Id] = SettingsOf(declaration);
        return created;
    }

    public Connection Authorize(Connection current, SystemConnectionDeclaration declaration, ResolvedSecrets secrets, IHostContext host)
    {
        Calls.Add((declaration.Name, secrets));
        RefuseIfAsked(declaration.Name);
        Settings[current.Id] = SettingsOf(declaration);
        return _store.Change(current.Id, LifecycleAction.Reauthorize, c => c.With(c => { c.Status = ConnectionStatus.Active; c.InactiveReason = null; }), "tester").After;
    }

    public Connection Update(Connection current, SystemConnectionDeclaration declaration, IHostContext host)
    {
        Settings[current.Id] = SettingsOf(declaration);
        return declaration.Description is null ? current : _store.Change(current.Id, LifecycleAction.Edit, c => c.With(c => { c.Description = declaration.Description; }), "tester").After;
    }

    private void RefuseIfAsked(string name)
    {
        if (Refuse.Contains(name))
        {
            throw new ConnectionToolsException(ErrorIds.AuthorizationConsentRequired, ErrorKind.AuthenticationError, $"Authorization of '{name}' was refused: consent required.", name);
        }
    }

    private static SystemConnectionSettings SettingsOf(SystemConnectionDeclaration d) => new()
    {
        InstanceUrl = d.InstanceUrl,
        EnvironmentType = d.EnvironmentType,
        RetrievalInterval = d.RetrievalInterval,
        DefaultCustomer = d.DefaultCustomer,
        Flow = d.Authorization.Flow,
        ClientId = d.Authorization.ClientId,
        Username = d.Authorization.Username,
        TenantId = d.Authorization.TenantId,
        CertificatePath = d.Authorization.CertificatePath,
        CertificateThumbprint = d.Authorization.CertificateThumbprint,
    };
}
