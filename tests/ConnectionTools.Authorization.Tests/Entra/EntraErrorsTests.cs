using ConnectionTools.Authorization.Entra;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Tests;

public sealed class EntraErrorsTests
{
    private static MsalServiceException Refusal(string error, int code, string text, int status = 400) =>
        new(error, $"AADSTS{code}: {text} Trace ID: 1 Correlation ID: 2 Timestamp: 2026-01-01 00:00:00Z", status)
        {
            ResponseBody = $"{{\"error\":\"{error}\",\"error_description\":\"AADSTS{code}: {text} Trace ID: 1 Correlation ID: 2\",\"error_codes\":[{code}]}}",
        };

    [Theory]
    [InlineData("invalid_grant", 700082, InactiveReason.Expired)]
    [InlineData("invalid_grant", 50173, InactiveReason.Revoked)]
    [InlineData("invalid_grant", 70043, InactiveReason.PolicyBlocked)]
    [InlineData("invalid_grant", 65001, InactiveReason.ConsentRequired)]
    [InlineData("interaction_required", 50076, InactiveReason.PolicyBlocked)]
    [InlineData("invalid_resource", 500011, InactiveReason.ConsentRequired)]
    public void Refusals_become_typed_reasons_with_the_first_line_of_what_Entra_said(string error, int code, InactiveReason reason)
    {
        var translated = Assert.IsType<ProviderRefusedException>(EntraErrors.Translate(Refusal(error, code, "Something happened."), "Entra ID", "app", "tenant"));

        Assert.Equal(reason, translated.Reason);
        Assert.Equal($"{error}: AADSTS{code}: Something happened.", translated.ProviderSaid);
    }

    [Theory]
    [InlineData("invalid_client", 7000215)]
    [InlineData("unauthorized_client", 700016)]
    [InlineData("invalid_client", 7000222)]
    [InlineData("invalid_request", 90002)]
    public void App_registration_and_tenant_errors_are_InvalidClient(string error, int code)
    {
        var translated = Assert.IsType<ConnectionToolsException>(EntraErrors.Translate(Refusal(error, code, "Bad app.", 401), "Entra ID", "app", "tenant"));

        Assert.Equal(ErrorIds.AuthorizationInvalidClient, translated.ErrorId);
    }

    [Fact]
    public void Throttling_waits_what_Retry_After_asks_and_then_is_ProviderUnavailable()
    {
        using var response = new HttpResponseMessage((System.Net.HttpStatusCode)429);
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
        var throttled = new MsalServiceException("too_many_requests", "Rate limit exceeded.", 429) { Headers = response.Headers };

        Assert.Equal(TimeSpan.FromSeconds(7), EntraErrors.RetryAfter(throttled, 1));
        Assert.Equal(TimeSpan.FromSeconds(7), EntraErrors.RetryAfter(new MsalThrottledServiceException(throttled), 1));
        Assert.Equal(ProviderRetry.Backoff(2), EntraErrors.RetryAfter(new MsalServiceException("x", "y", 503), 2));
        Assert.Equal(ProviderRetry.Backoff(1), EntraErrors.RetryAfter(new HttpRequestException("refused"), 1));
        Assert.Null(EntraErrors.RetryAfter(Refusal("invalid_grant", 700082, "Expired."), 1));
        var unavailable = Assert.IsType<ConnectionToolsException>(EntraErrors.Translate(throttled, "Entra ID (login.microsoftonline.us)", "app", "tenant"));
        Assert.Equal(ErrorIds.AuthorizationProviderUnavailable, unavailable.ErrorId);
    }

    [Fact]
    public async Task Retried_throttles_succeed_within_three_attempts()
    {
        var calls = 0;
        var attempt = 0;
        var result = await ProviderRetry.RunAsync(
            _ => ++calls < 3 ? throw new MsalServiceException("too_many_requests", "slow down", 429) : Task.FromResult("ok"),
            e => EntraErrors.RetryAfter(e, ++attempt) is { } wait ? TimeSpan.FromMilliseconds(wait.TotalMilliseconds / 100) : null,
            "Entra ID",
            CancellationToken.None);

        Assert.Equal("ok", result);
        Assert.Equal(3, calls);
    }
}
