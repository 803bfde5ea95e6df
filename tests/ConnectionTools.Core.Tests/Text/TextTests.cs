using ConnectionTools.Connections;
using ConnectionTools.Errors;
using ConnectionTools.Text;

namespace ConnectionTools.Core.Tests;

public class TextTests
{
    [Theory]
    [InlineData("prod*", "Production-EU", true)]
    [InlineData("PROD*", "production", true)]
    [InlineData("*eu", "prod-EU", true)]
    [InlineData("p?od", "prod", true)]
    [InlineData("p?od", "pod", false)]
    [InlineData("[a-c]rm", "crm", true)]
    [InlineData("[a-c]rm", "drm", false)]
    [InlineData("[xyz]*", "Yes", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    [InlineData("lit`*", "lit*", true)]
    [InlineData("lit`*", "little", false)]
    [InlineData("[`]]", "]", true)]
    [InlineData("[a`-c]", "-", true)]
    [InlineData("[a`-c]", "b", false)]
    public void Wildcards_match_like_PowerShell(string pattern, string input, bool expected)
    {
        Assert.Equal(expected, WildcardPattern.Parse(pattern).IsMatch(input));
    }

    [Theory]
    [InlineData("prod*", true)]
    [InlineData("a?", true)]
    [InlineData("[ab]", true)]
    [InlineData("plain name", false)]
    [InlineData("escaped`*", false)]
    public void Wildcard_detection(string pattern, bool expected) => Assert.Equal(expected, WildcardPattern.ContainsWildcards(pattern));

    [Theory]
    [InlineData("crm-prod", "crm-prod")]
    [InlineData("CRM Prod", "'CRM Prod'")]
    [InlineData("O'Brien", "'O''Brien'")]
    [InlineData("$env", "'$env'")]
    [InlineData("-dash", "'-dash'")]
    public void Completion_quotes_what_PowerShell_would_misread(string name, string expected) => Assert.Equal(expected, CompletionText.Quote(name));

    [Theory]
    [InlineData("'CRM P", "CRM P")]
    [InlineData("\"crm\"", "crm")]
    [InlineData("'O''B", "O'B")]
    [InlineData("pro", "pro")]
    public void Completion_reads_the_word_without_its_quotes(string word, string expected) => Assert.Equal(expected, CompletionText.Unquote(word));

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("star*")]
    [InlineData("question?")]
    [InlineData("br[acket]")]
    [InlineData("tick`")]
    [InlineData("tab\there")]
    public void Invalid_names_are_refused_with_the_reason(string name)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionNames.Validate(name));
        Assert.Equal(ErrorIds.ConnectionInvalidName, error.ErrorId);
        Assert.Equal(ErrorKind.InvalidArgument, error.Kind);
        Assert.Contains("is not a valid connection name", error.Message);
    }

    [Fact]
    public void A_name_over_the_limit_says_how_long_it_is()
    {
        var error = Assert.Throws<ConnectionToolsException>(() => ConnectionNames.Validate(new string('x', 129)));
        Assert.Contains("129 characters", error.Message);
    }

    [Fact]
    public void Names_compare_without_case_including_non_ascii()
    {
        Assert.Equal(ConnectionNames.Key("Ärzte-CRM"), ConnectionNames.Key("ärzte-crm"));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("quote \" backslash \\ newline \n tab \t bell \u0007")]
    [InlineData("Ärzte-CRM <b>&'")]
    public void The_audit_snapshot_is_JSON_that_reads_back_the_same(string value)
    {
        var text = new JsonObjectWriter().Add("name", value).Add("none", null).Add("version", 42).ToString();

        using var document = System.Text.Json.JsonDocument.Parse(text);
        Assert.Equal(value, document.RootElement.GetProperty("name").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, document.RootElement.GetProperty("none").ValueKind);
        Assert.Equal(42, document.RootElement.GetProperty("version").GetInt64());
    }

    [Fact]
    public void The_audit_snapshot_keeps_non_ascii_names_readable() =>
        Assert.Equal("{\"name\":\"Ärzte-CRM\"}", new JsonObjectWriter().Add("name", "Ärzte-CRM").ToString());

    [Theory]
    [InlineData(new byte[0], "")]
    [InlineData(new byte[] { 0xFB, 0xFF }, "-_8")]
    [InlineData(new byte[] { 1, 2, 3 }, "AQID")]
    public void Base64url_has_no_padding_and_reads_back(byte[] bytes, string expected)
    {
        Assert.Equal(expected, Base64Url.Encode(bytes));
        Assert.Equal(bytes, Base64Url.Decode(expected));
    }

    [Fact]
    public void Constant_time_comparison_compares_every_byte_and_the_length()
    {
        Assert.True(Security.ConstantTime.Equal(new byte[] { 1, 2, 3 }, new byte[] { 1, 2, 3 }));
        Assert.False(Security.ConstantTime.Equal(new byte[] { 1, 2, 3 }, new byte[] { 1, 2, 4 }));
        Assert.False(Security.ConstantTime.Equal(new byte[] { 1, 2, 3 }, new byte[] { 1, 2 }));
        Assert.True(Security.ConstantTime.Equal("sha256:abc", "sha256:abc"));
        Assert.False(Security.ConstantTime.Equal("sha256:abc", "sha256:abd"));
    }
}
