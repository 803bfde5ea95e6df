using ConnectionTools.Connections;
using ConnectionTools.Core.Tests;
using ConnectionTools.Emulators;
using ConnectionTools.Errors;
using ConnectionTools.Nodes;
using ConnectionTools.Sync;
using ConnectionTools.Sync.Apply;
using ConnectionTools.SystemConnections;
using ConnectionTools.Testing;

namespace ConnectionTools.Authorization.Tests;

/// <summary>
/// Test-ConnectionSync against the Salesforce emulator with a real grant: one result per private connection, ready when Case has
/// the External ID field and the user may write it; otherwise also a non-terminating error naming the field and the fix.
/// </summary>
public sealed class SyncCheckTests : IAsyncLifetime
{
    private BoundSalesforce _bound = null!;
    private readonly RecordingHost _host = new();

    public async Task InitializeAsync()
    {
        _bound = await BoundSalesforce.StartAsync();
        Bound("partner");
    }

    public async Task DisposeAsync() => await _bound.DisposeAsync();

    private TestStore Store => _bound.Store;

    private Connection SystemConnection => _bound.System;

    private SalesforceEmulator Emulator => _bound.Org.Emulator;

    private Connection Bound(string name) => _bound.Bind(name);

    private void Test(params string[] names) => new SyncCheckCommands(Store.Node, _host).Test(names.Select(ConnectionTarget.ByName));

    [Fact]
    public void A_bound_org_with_the_External_ID_field_is_ready()
    {
        Test("partner");

        var result = Assert.Single(_host.OutputOf<SyncCheckResult>());
        Assert.Empty(_host.Errors);
        Assert.True(result.Ready);
        Assert.Equal(("partner", "sf", ConnectionType.SalesforceProduction, SalesforceCaseWriter.DefaultExternalIdField),
            (result.Name, result.System, result.SystemType, result.Field));
        Assert.Null(result.ErrorId);
        Assert.Contains(SalesforceCaseWriter.DefaultExternalIdField, result.Message, StringComparison.Ordinal);
        Assert.Contains(Emulator.Requests, r => r.Method == "GET" && r.Path.EndsWith("/sobjects/Case/describe", StringComparison.Ordinal));
        Assert.Equal(0, Emulator.WritesApplied);
    }

    [Fact]
    public void Without_the_field_it_is_not_ready_and_the_error_names_the_field_and_how_to_create_it()
    {
        Emulator.OmitExternalIdField = true;

        Test("partner");

        var result = Assert.Single(_host.OutputOf<SyncCheckResult>());
        var error = Assert.Single(_host.Errors);
        Assert.False(result.Ready);
        Assert.Equal(ErrorIds.SyncApplyMissingExternalId, error.ErrorId);
        Assert.Equal(ErrorIds.SyncApplyMissingExternalId, result.ErrorId);
        Assert.Equal(SalesforceCaseWriter.DefaultExternalIdField, result.Field);
        Assert.Contains(SalesforceCaseWriter.DefaultExternalIdField, error.Message, StringComparison.Ordinal);
        Assert.Contains("Object Manager > Case > Fields & Relationships", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains("External ID", error.RecommendedAction, StringComparison.Ordinal);
        Assert.Contains(error.RecommendedAction!, result.Message, StringComparison.Ordinal);
        Assert.Equal(ConnectionStatus.Active, Store.Get("sf").Status);
    }

    [Fact]
    public void A_field_the_user_may_not_write_is_NoWriteAccess_naming_it_and_field_level_security()
    {
        Emulator.RejectedField = SalesforceCaseWriter.DefaultExternalIdField;

        Test("partner");

        var result = Assert.Single(_host.OutputOf<SyncCheckResult>());
        var error = Assert.Single(_host.Errors);
        Assert.False(result.Ready);
        Assert.Equal((ErrorIds.SyncApplyNoWriteAccess, ErrorKind.PermissionDenied), (error.ErrorId, error.Kind));
        Assert.Contains("edit the field " + SalesforceCaseWriter.DefaultExternalIdField, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Case records", error.Message, StringComparison.Ordinal);
        Assert.Contains("Field-Level Security", error.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unbound_connection_a_system_connection_and_a_missing_name_are_errors_and_the_others_are_still_checked()
    {
        Seeding.Add(Store.Store, "lonely", ConnectionType.Private, ConnectionStatus.Active, InactiveReason.Revoked, "tester");

        Test("lonely", "sf", "nobody", "partner");

        Assert.Equal(
            new[] { ErrorIds.SyncNotBound, ErrorIds.SyncNotBound, ErrorIds.ConnectionNotFound },
            _host.Errors.Select(e => e.ErrorId));
        Assert.Contains("Set-Connection -Name 'lonely' -System", _host.Errors[0].RecommendedAction, StringComparison.Ordinal);
        var results = _host.OutputOf<SyncCheckResult>().ToList();
        Assert.Equal(new[] { "lonely", "sf", "partner" }, results.Select(r => r.Name));
        Assert.Equal(new[] { false, false, true }, results.Select(r => r.Ready));
        Assert.Equal(new[] { ErrorIds.SyncNotBound, ErrorIds.SyncNotBound, null }, results.Select(r => r.ErrorId));
        Assert.Null(results[0].System);
        Assert.Null(results[0].Field);
    }

    [Fact]
    public void A_wildcard_checks_every_matching_connection_once()
    {
        Bound("partner-2");

        Test("partner*");

        Assert.Empty(_host.Errors);
        Assert.Equal(new[] { "partner", "partner-2" }, _host.OutputOf<SyncCheckResult>().Select(r => r.Name));
        Assert.All(_host.OutputOf<SyncCheckResult>(), r => Assert.True(r.Ready));
    }
}
