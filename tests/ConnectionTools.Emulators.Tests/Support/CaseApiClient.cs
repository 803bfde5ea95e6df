using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace ConnectionTools.Emulators.Tests;

/// <summary>Raw HTTP against the emulators' case APIs, independent of the production clients.</summary>
internal static class CaseApiClient
{
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(
        HttpClient http, Uri uri, string? token, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    /// <summary>Sends <paramref name="body"/> (JSON text, or null for none) with <paramref name="method"/>; the answer's body parsed when it has one.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(
        HttpClient http, HttpMethod method, Uri uri, string? token, string? body, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (body is not null)
        {
            request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        }
        foreach (var (name, value) in headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length > 0 && text.TrimStart()[0] is '{' or '[' ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return (response.StatusCode, json, response);
    }

    /// <summary>Web server flow via the emulator's test helper: (access token, refresh token).</summary>
    public static async Task<(string Access, string Refresh)> SalesforceTokensAsync(HttpClient http, SalesforceEmulator sf, string consumerKey, string username)
    {
        const string Redirect = "http://127.0.0.1:7777/callback";
        var verifier = TestJwt.B64(RandomNumberGenerator.GetBytes(32));
        var challenge = TestJwt.B64(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        var code = sf.CreateAuthorizationCode(consumerKey, Redirect, username, challenge);
        var (status, body) = await TestJwt.PostAsync(http, sf.TokenEndpoint, ("grant_type", "authorization_code"), ("code", code),
            ("client_id", consumerKey), ("redirect_uri", Redirect), ("code_verifier", verifier));
        Assert.Equal(HttpStatusCode.OK, status);
        return (body.Str("access_token"), body.Str("refresh_token"));
    }

    public static async Task<string> SalesforceRefreshAsync(HttpClient http, SalesforceEmulator sf, string consumerKey, string refreshToken)
    {
        var (status, body) = await TestJwt.PostAsync(http, sf.TokenEndpoint, ("grant_type", "refresh_token"), ("client_id", consumerKey), ("refresh_token", refreshToken));
        Assert.Equal(HttpStatusCode.OK, status);
        return body.Str("access_token");
    }

    public static async Task<string> EntraClientCredentialsAsync(HttpClient http, EntraEmulator entra, string clientId, string secret, string resource)
    {
        var (status, body) = await TestJwt.PostAsync(http, entra.TokenEndpoint, ("grant_type", "client_credentials"), ("client_id", clientId),
            ("client_secret", secret), ("scope", resource + "/.default"));
        Assert.Equal(HttpStatusCode.OK, status);
        return body.Str("access_token");
    }

    public static List<string> Ids(JsonElement array, string idName) => array.EnumerateArray().Select(r => r.Str(idName)).ToList();
}
