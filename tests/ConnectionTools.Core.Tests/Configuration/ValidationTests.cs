using System.Text;
using System.Text.RegularExpressions;
using ConnectionTools.Configuration;
using ConnectionTools.Errors;

namespace ConnectionTools.Core.Tests.Configuration;

/// <summary>Every validation error carries file:line:column and names its key, every error is reported, and nothing is applied.</summary>
public sealed class ValidationTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly RecordingHost _host = new();

    public ValidationTests()
    {
        new Nodes.NodeCommands(_store.Node, new RecordingHost()).SetPublicUrl("https://node.contoso.example/", passThru: false);
    }

    public void Dispose() => _store.Dispose();

    private string Write(string yaml, string name = "conn.yaml")
    {
        var path = Path.Combine(_store.Folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Runs Invoke and checks the file was refused as a whole: the summary error, and not one write to the store.</summary>
    private List<ConnectionToolsException> Refused(string path)
    {
        var audit = _store.Store.AuditCount();
        var error = Assert.Throws<ConnectionToolsException>(() => new ConfigurationCommands(_store.Node, _host).Invoke(path, prune: false));
        Assert.Equal(ErrorIds.ConfigurationInvalid, error.ErrorId);
        Assert.Equal(audit, _store.Store.AuditCount());
        Assert.Empty(_store.Store.List(new Storage.ConnectionFilter { IncludeRemoved = true }));
        Assert.Empty(_host.OutputOf<ConnectionApplyResult>());
        Assert.NotEmpty(_host.Errors);
        Assert.All(_host.Errors, e => Assert.IsType<ConfigurationLocation>(e.Target));
        return _host.Errors;
    }

    private static void AssertAt(ConnectionToolsException error, string id, string path, int line, int column, string key)
    {
        Assert.Equal(id, error.ErrorId);
        var location = Assert.IsType<ConfigurationLocation>(error.Target);
        Assert.Equal((line, column), (location.Line, location.Column));
        Assert.StartsWith($"{path}:{line}:{column}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Equal(key, location.Key);
    }

    private const string Good = """
        apiVersion: connectiontools/v1
        connections:
          - name: crm-eu
            type: Private
            side: Public
            localInstanceName: contoso
        """;

    [Fact]
    public void A_syntax_error_is_reported_at_its_line_and_column()
    {
        var path = Write("apiVersion: connectiontools/v1\nconnections:\n  - name: [crm-eu\n    type: Private\n");
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationSyntaxError, error.ErrorId);
        var location = (ConfigurationLocation)error.Target!;
        Assert.True(location.Line >= 3, $"line {location.Line}");
        Assert.Matches(new Regex("^" + Regex.Escape(path) + @":\d+:\d+: YAML syntax error"), error.Message);
    }

    [Fact]
    public void Tabs_in_indentation_are_refused_line_by_line()
    {
        var path = Write("apiVersion: connectiontools/v1\nconnections:\n\t- name: a\n  - name: b\n\t  type: Private\n");
        var errors = Refused(path);
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Contains("tab", e.Message, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(new[] { 3, 5 }, errors.Select(e => ((ConfigurationLocation)e.Target!).Line));
        Assert.StartsWith($"{path}:3:1: ", errors[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_are_named_with_their_position_and_a_hint()
    {
        var path = Write(Good + "\n    instanceUrl: https://x.my.salesforce.com\n    colour: blue\n    Mode: Basic\n");
        var errors = Refused(path);
        Assert.Equal(3, errors.Count);
        AssertAt(errors[0], ErrorIds.ConfigurationUnknownKey, path, 7, 5, "connections[0].instanceUrl");
        Assert.Contains("does not apply to the public side", errors[0].Message, StringComparison.Ordinal);
        AssertAt(errors[1], ErrorIds.ConfigurationUnknownKey, path, 8, 5, "connections[0].colour");
        AssertAt(errors[2], ErrorIds.ConfigurationUnknownKey, path, 9, 5, "connections[0].Mode");
        Assert.Contains("did you mean 'mode'", errors[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_default_customer_is_for_Dynamics_365_only_and_is_an_account_or_contact()
    {
        var path = Write("""
            apiVersion: connectiontools/v1
            connections:
              - name: sf
                type: SalesforceProduction
                instanceUrl: https://contoso.my.salesforce.com
                defaultCustomer: accounts(00000000-0000-0000-0000-0000000000a1)
                authorization: { flow: JwtBearer, clientId: key, username: a@b.c, certificatePath: sf.pfx }
              - name: crm
                type: Dynamics365
                instanceUrl: https://contoso.crm.dynamics.com
                defaultCustomer: leads(00000000-0000-0000-0000-0000000000a1)
                authorization: { flow: ClientSecret, clientId: 11111111-2222-3333-4444-555555555555, tenantId: contoso.onmicrosoft.com, clientSecret: env:CT_NONE }
            """);
        var errors = Refused(path).Where(e => e.Message.Contains("defaultCustomer", StringComparison.Ordinal)).ToList();
        AssertAt(errors.Single(e => e.Message.Contains("Dynamics 365 connections only", StringComparison.Ordinal)), ErrorIds.ConfigurationInvalidValue, path, 6, 22, "connections[0].defaultCustomer");
        AssertAt(errors.Single(e => e.Message.Contains("accounts(<guid>) or contacts(<guid>)", StringComparison.Ordinal)), ErrorIds.ConfigurationInvalidValue, path, 11, 22, "connections[1].defaultCustomer");
    }

    [Fact]
    public void Wrong_types_and_bad_values_name_the_key()
    {
        var path = Write("""
            apiVersion: connectiontools/v1
            connections:
              - name: sf
                type: SalesforceProduction
                instanceUrl: https://contoso.my.salesforce.com
                retrievalInterval: often
                state: Running
                authorization: jwt
              - just-a-string
            """);
        var errors = Refused(path);
        AssertAt(errors.Single(e => e.Message.Contains("retrievalInterval", StringComparison.Ordinal)), ErrorIds.ConfigurationInvalidValue, path, 6, 24, "connections[0].retrievalInterval");
        AssertAt(errors.Single(e => e.Message.Contains(".state", StringComparison.Ordinal)), ErrorIds.ConfigurationInvalidValue, path, 7, 12, "connections[0].state");
        AssertAt(errors.Single(e => e.Message.Contains("authorization", StringComparison.Ordinal)), ErrorIds.ConfigurationWrongType, path, 8, 20, "connections[0].authorization");
        AssertAt(errors.Single(e => e.Message.Contains("connections[1]", StringComparison.Ordinal)), ErrorIds.ConfigurationWrongType, path, 9, 5, "connections[1]");
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void Duplicate_names_and_duplicate_keys_point_at_the_second_one()
    {
        var path = Write(Good + "\n    mode: Basic\n    mode: Script\n  - name: CRM-EU\n    type: Private\n    side: Public\n    localInstanceName: contoso\n");
        var errors = Refused(path);
        Assert.Equal(2, errors.Count);
        AssertAt(errors[0], ErrorIds.ConfigurationDuplicateKey, path, 8, 5, "connections[0].mode");
        AssertAt(errors[1], ErrorIds.ConfigurationDuplicateName, path, 9, 5, "connections[1].name");
        Assert.Contains("first is at line 3", errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_apiVersion_is_refused()
    {
        var path = Write(Good.Replace("connectiontools/v1", "connectiontools/v2", StringComparison.Ordinal));
        AssertAt(Assert.Single(Refused(path)), ErrorIds.ConfigurationUnsupportedVersion, path, 1, 13, "apiVersion");
    }

    [Fact]
    public void A_missing_required_key_is_named()
    {
        var path = Write("apiVersion: connectiontools/v1\nconnections:\n  - name: crm\n    type: Private\n    side: Public\n");
        AssertAt(Assert.Single(Refused(path)), ErrorIds.ConfigurationMissingKey, path, 3, 5, "connections[0].localInstanceName");
    }

    [Fact]
    public void References_that_do_not_resolve_are_refused_before_anything_is_applied()
    {
        var missing = "CT_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        var path = Write(Good + $"\n  - name: from-contoso\n    type: Private\n    side: Private\n    invitationCode: env:{missing}\n  - name: from-fabrikam\n    type: Private\n    side: Private\n    invitationCode: file:codes/none.txt\n  - name: from-vault\n    type: Private\n    side: Private\n    invitationCode: vault:corp/code\n");
        var errors = Refused(path);
        Assert.Equal(3, errors.Count);
        AssertAt(errors[0], ErrorIds.ConfigurationUnresolvedReference, path, 10, 21, "connections[1].invitationCode");
        Assert.Contains(missing, errors[0].Message, StringComparison.Ordinal);
        AssertAt(errors[1], ErrorIds.ConfigurationUnresolvedReference, path, 14, 21, "connections[2].invitationCode");
        AssertAt(errors[2], ErrorIds.ConfigurationUnresolvedReference, path, 18, 21, "connections[3].invitationCode");
        Assert.Contains("SecretManagement", errors[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_literal_secret_is_refused_with_its_location_and_never_repeated()
    {
        const string secret = "s3cr3t-Value-Nobody-Should-See";
        var path = Write($"""
            apiVersion: connectiontools/v1
            connections:
              - name: crm
                type: Dynamics365
                instanceUrl: https://contoso.crm.dynamics.com
                authorization:
                  flow: ClientSecret
                  clientId: 11111111-2222-3333-4444-555555555555
                  tenantId: contoso.onmicrosoft.com
                  clientSecret: {secret}
              - name: from-contoso
                type: Private
                side: Private
                invitationCode: CT1-ABCDEFGH
            """);
        var errors = Refused(path);
        Assert.Equal(2, errors.Count);
        AssertAt(errors[0], ErrorIds.ConfigurationLiteralSecret, path, 10, 21, "connections[0].authorization.clientSecret");
        AssertAt(errors[1], ErrorIds.ConfigurationLiteralSecret, path, 14, 21, "connections[1].invitationCode");
        Assert.All(errors, e => Assert.DoesNotContain(secret, e.Message + e.RecommendedAction, StringComparison.Ordinal));
        Assert.All(errors, e => Assert.DoesNotContain("CT1-ABCDEFGH", e.Message + e.RecommendedAction, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("just some words, not a configuration\n")]
    [InlineData("[1, 2, 3]\n")]
    public void A_file_that_is_not_a_configuration_is_refused_at_its_start(string text)
    {
        var path = Write(text);
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationWrongType, error.ErrorId);
        Assert.StartsWith(path + ":1:1: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("apiVersion", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_JSON_document_is_read_as_YAML_and_its_keys_are_checked()
    {
        var path = Write("{\"json\": true}\n");
        var errors = Refused(path);
        AssertAt(errors[0], ErrorIds.ConfigurationMissingKey, path, 1, 1, "apiVersion");
        AssertAt(errors.Single(e => e.ErrorId == ErrorIds.ConfigurationUnknownKey), ErrorIds.ConfigurationUnknownKey, path, 1, 2, "json");
    }

    [Fact]
    public void A_binary_file_is_not_YAML()
    {
        var path = Path.Combine(_store.Folder, "image.yaml");
        File.WriteAllBytes(path, new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0xFF, 0xFE });
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationSyntaxError, error.ErrorId);
        Assert.Contains("not YAML", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n\n")]
    public void An_empty_file_is_refused(string text)
    {
        var path = Write(text);
        AssertAt(Assert.Single(Refused(path)), ErrorIds.ConfigurationEmpty, path, 1, 1, "apiVersion");
    }

    [Fact]
    public void A_50_MB_file_is_refused_by_its_size_before_it_is_read()
    {
        var path = Path.Combine(_store.Folder, "huge.yaml");
        using (var file = new FileStream(path, FileMode.Create))
        {
            var line = Encoding.UTF8.GetBytes("  - name: filler-connection-with-a-long-name\n");
            file.Write(Encoding.UTF8.GetBytes("apiVersion: connectiontools/v1\nconnections:\n"));
            while (file.Length < 50L * 1024 * 1024)
            {
                file.Write(line);
            }
        }

        var before = GC.GetTotalAllocatedBytes();
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationTooLarge, error.ErrorId);
        Assert.Contains("50 MB", error.Message, StringComparison.Ordinal);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 10L * 1024 * 1024, "the file was read");
    }

    [Fact]
    public void Aliases_are_refused_so_a_small_file_cannot_expand()
    {
        var path = Write("apiVersion: connectiontools/v1\nconnections:\n  - &one\n    name: a\n  - *one\n");
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationSyntaxError, error.ErrorId);
        Assert.Contains("anchor", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Test_reports_every_error_of_the_file_and_no_results()
    {
        var path = Write("apiVersion: connectiontools/v1\nconnections:\n  - name: a\n    type: Nope\n  - name: b\n    type: Private\n    side: Sideways\n  - type: Private\n    side: Public\n    localInstanceName: x\n");
        new ConfigurationCommands(_store.Node, _host).Test(path);
        Assert.Empty(_host.OutputOf<ConnectionTestResult>());
        Assert.Equal(new[] { ErrorIds.ConfigurationInvalidValue, ErrorIds.ConfigurationInvalidValue, ErrorIds.ConfigurationMissingKey }, _host.Errors.Select(e => e.ErrorId));
        Assert.Equal(new[] { 4, 7, 8 }, _host.Errors.Select(e => ((ConfigurationLocation)e.Target!).Line));
    }

    [Fact]
    public void A_missing_file_is_reported_as_not_found()
    {
        var path = Path.Combine(_store.Folder, "absent.yaml");
        var error = Assert.Single(Refused(path));
        Assert.Equal(ErrorIds.ConfigurationFileNotFound, error.ErrorId);

        // There is no line 1 column 1 in a file that is not there.
        Assert.Equal($"Configuration file not found: {path}", error.Message);
        Assert.DoesNotContain("absent.yaml:1:1", error.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorKind.ObjectNotFound, error.Kind);
    }

    [Theory]
    [InlineData("descripton", "description")]
    [InlineData("localInstanceNmae", "localInstanceName")]
    [InlineData("invitationCodePth", "invitationCodePath")]
    [InlineData("stat", "state")]
    public void A_misspelt_key_is_reported_with_the_closest_key(string misspelt, string meant)
    {
        var path = Write(Good + $"\n    {misspelt}: x\n");
        var error = Assert.Single(Refused(path));
        AssertAt(error, ErrorIds.ConfigurationUnknownKey, path, 7, 5, $"connections[0].{misspelt}");
        Assert.Contains($"did you mean '{meant}'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_like_no_other_lists_the_keys_instead_of_guessing()
    {
        var path = Write(Good + "\n    colour: blue\n");
        var error = Assert.Single(Refused(path));
        Assert.DoesNotContain("did you mean", error.Message, StringComparison.Ordinal);
        Assert.Contains("localInstanceName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_error_of_a_file_is_reported_in_one_run_in_file_order_duplicates_included()
    {
        var path = Write("""
            apiVersion: connectiontools/v1
            connections:
              - name: crm-eu
                type: Private
                side: Public
                colour: blue
                state: Running
                localInstanceName: contoso
              - name: crm-us
                type: Private
                side: Public
                localInstanceName: contoso
                localInstanceName: other
              - name: CRM-EU
                type: Private
                side: Public
                localInstanceName: contoso
            """);
        var errors = Refused(path);
        Assert.Equal(new[] { 6, 7, 13, 14 }, errors.Select(e => ((ConfigurationLocation)e.Target!).Line));
        Assert.Equal(
            new[] { ErrorIds.ConfigurationUnknownKey, ErrorIds.ConfigurationInvalidValue, ErrorIds.ConfigurationDuplicateKey, ErrorIds.ConfigurationDuplicateName },
            errors.Select(e => e.ErrorId));
        Assert.Contains("first is at line 3", errors[3].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("90s", 90)]
    [InlineData("15m", 900)]
    [InlineData("1h30m", 5400)]
    [InlineData("00:05:00", 300)]
    public void Intervals_read_as_admins_write_them(string text, int seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ConfigurationLoader.ParseInterval(text));
        Assert.Equal(TimeSpan.FromSeconds(seconds), ConfigurationLoader.ParseInterval(ConfigurationLoader.FormatInterval(TimeSpan.FromSeconds(seconds))));
    }
}
