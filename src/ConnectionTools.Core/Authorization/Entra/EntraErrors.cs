using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Text.Json;
using ConnectionTools.Connections;
using ConnectionTools.Errors;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>
    /// Turns what MSAL threw into the module's errors: a refusal by Entra ID becomes a <see cref="ProviderRefusedException"/>
    /// with a typed reason, a wrong app registration a configuration error, throttling and outages retries and then
    /// ProviderUnavailable. Messages carry Entra ID's error and AADSTS description only: never a token, secret or cache.
    /// </summary>
    internal static class EntraErrors
    {
        /// <summary>AADSTS codes that mean the app registration or its credential is wrong: fixed by configuration, not by signing in.</summary>
        private static readonly HashSet<int> InvalidClientCodes = new HashSet<int>
        {
            7000215, // invalid client secret
            7000222, // client secret expired
            700016,  // application not found in the directory
            700027,  // certificate not registered on the application
            7000218, // client_assertion or client_secret missing (the app is not a public client)
            700212,  // assertion audience
            700023,  // assertion iss/sub
            700024,  // assertion time range
            7000112, // application disabled
            90002,   // tenant not found
            900023,  // tenant identifier is not valid
        };

        /// <summary>How long to wait before trying a failed MSAL call again, or null when it is not a throttle, outage or network failure.</summary>
        public static TimeSpan? RetryAfter(Exception e, int attempt)
        {
            switch (e)
            {
                case MsalThrottledServiceException throttled:
                    return Http.HttpPolicy.RetryAfter(throttled.OriginalServiceException?.Headers) ?? ProviderRetry.Backoff(attempt);
                case MsalServiceException service when service.StatusCode == 429 || (service.StatusCode >= 500 && service.StatusCode != 501):
                    return Http.HttpPolicy.RetryAfter(service.Headers) ?? ProviderRetry.Backoff(attempt);
                case MsalServiceException service when service.ErrorCode == MsalError.RequestTimeout || service.ErrorCode == MsalError.ServiceNotAvailable:
                    return ProviderRetry.Backoff(attempt);
                case HttpRequestException _:
                case TimeoutException _:
                    return ProviderRetry.Backoff(attempt);
                case MsalException msal when msal.InnerException is HttpRequestException || msal.InnerException is TimeoutException:
                    return ProviderRetry.Backoff(attempt);
                default:
                    return null;
            }
        }

        /// <summary>
        /// The module's exception for what MSAL (or the network under it) threw, or null to let <paramref name="e"/> through
        /// unchanged (the module's own errors and cancellation).
        /// </summary>
        public static Exception? Translate(Exception e, string what, string clientId, string? tenant)
        {
            switch (e)
            {
                case ConnectionToolsException _:
                case ProviderRefusedException _:
                case OperationCanceledException _:
                    return null;
                case MsalServiceException service:
                    return FromService(service, what, clientId, tenant);
                case MsalClientException client when client.ErrorCode == MsalError.AuthenticationCanceledError || client.ErrorCode == "access_denied":
                    return Declined(what, client);
                case MsalClientException client:
                    return new ConnectionToolsException(
                        ErrorIds.AuthorizationProtocol,
                        ErrorKind.InvalidOperation,
                        $"The sign-in with {what} failed ({client.ErrorCode}: {FirstLine(client.Message)}).",
                        what,
                        "Run the command again; if it keeps failing, run it with -Verbose and report the error code.",
                        client);
                case HttpRequestException _:
                case TimeoutException _:
                    return ProviderRetry.Unavailable(what, FirstLine(e.Message));
                case MsalException msal when msal.InnerException is HttpRequestException || msal.InnerException is TimeoutException:
                    return ProviderRetry.Unavailable(what, FirstLine(msal.InnerException.Message));
                default:
                    return null;
            }
        }

        private static Exception FromService(MsalServiceException e, string what, string clientId, string? tenant)
        {
            var (error, description, codes) = Parse(e);
            var said = Said(error, description);
            if (RetryAfter(e, 1) != null)
            {
                return ProviderRetry.Unavailable(what, said);
            }

            if (codes.Any(InvalidClientCodes.Contains) || error == "invalid_client" || error == "unauthorized_client" || error == "invalid_tenant")
            {
                var tenantProblem = codes.Contains(90002) || codes.Contains(900023) || error == "invalid_tenant";
                return new ConnectionToolsException(
                    ErrorIds.AuthorizationInvalidClient,
                    ErrorKind.InvalidArgument,
                    tenantProblem
                        ? $"Entra ID refused tenant '{tenant}' ({said}). Nothing was stored."
                        : $"Entra ID refused the app registration '{clientId}' or its credential ({said}). Nothing was stored.",
                    clientId,
                    tenantProblem
                        ? "Check -TenantId (the directory id or a verified domain) and -EnvironmentType: GCC High and DoD tenants sign in at login.microsoftonline.us, China at login.partner.microsoftonline.cn."
                        : "Check -ClientId and -TenantId, and that the -ClientSecret value (not its id) or the certificate is registered on the app and not expired.",
                    e);
            }

            // OAuth errors come as 400 or 401; anything else (a proxy's 407, a 404 from a wrong host, 421) is not a refusal of the grant.
            if (e.StatusCode != 0 && e.StatusCode != 400 && e.StatusCode != 401 && e.StatusCode != 403)
            {
                return new ConnectionToolsException(
                    ErrorIds.AuthorizationProtocol,
                    ErrorKind.InvalidOperation,
                    $"{what} gave an unexpected answer (HTTP {e.StatusCode}, {said}). Nothing was stored.",
                    what,
                    "Check -EnvironmentType (the cloud decides the sign-in host) and any proxy between this computer and Entra ID, then run the command again.",
                    e);
            }

            if (error == "authorization_declined" || error == "access_denied")
            {
                return Declined(what, e);
            }

            if (error == "expired_token" || codes.Contains(70020))
            {
                return new ConnectionToolsException(
                    ErrorIds.AuthorizationTimedOut,
                    ErrorKind.OperationTimeout,
                    $"The device code expired before the sign-in was completed ({said}). Nothing was stored.",
                    what,
                    "Run the command again and complete the sign-in within the time shown.",
                    e);
            }

            // The resource's service principal is not in the tenant: the app (or Dynamics 365) needs consent there.
            var reason = error == "invalid_resource" || codes.Contains(500011)
                ? InactiveReason.ConsentRequired
                : AuthorizationFailures.ClassifyEntra(error, description, codes);
            return new ProviderRefusedException(reason, said, e);
        }

        private static ConnectionToolsException Declined(string what, Exception e) => new ConnectionToolsException(
            ErrorIds.AuthorizationDeclined,
            ErrorKind.PermissionDenied,
            $"The sign-in with {what} was cancelled or declined. Nothing was stored.",
            what,
            "Run the command again and approve the request, or ask an admin to consent to the app.",
            e);

        /// <summary>The error, its description up to Entra ID's trace details, and the error codes; from the response body when there is one.</summary>
        internal static (string Error, string Description, IReadOnlyList<int> Codes) Parse(MsalServiceException e)
        {
            string? error = null;
            string? description = null;
            var codes = new List<int>();
            if (!string.IsNullOrWhiteSpace(e.ResponseBody))
            {
                try
                {
                    using (var json = JsonDocument.Parse(e.ResponseBody))
                    {
                        if (json.RootElement.ValueKind == JsonValueKind.Object)
                        {
                            if (json.RootElement.TryGetProperty("error", out var err) && err.ValueKind == JsonValueKind.String)
                            {
                                error = err.GetString();
                            }

                            if (json.RootElement.TryGetProperty("error_description", out var desc) && desc.ValueKind == JsonValueKind.String)
                            {
                                description = desc.GetString();
                            }

                            if (json.RootElement.TryGetProperty("error_codes", out var list) && list.ValueKind == JsonValueKind.Array)
                            {
                                foreach (var item in list.EnumerateArray())
                                {
                                    if (item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var code))
                                    {
                                        codes.Add(code);
                                    }
                                }
                            }
                        }
                    }
                }
                catch (JsonException)
                {
                    // Not JSON (an HTML error page from a proxy): the exception's own code and message are used.
                }
            }

            return (string.IsNullOrEmpty(error) ? e.ErrorCode ?? "error" : error!, Trim(description ?? e.Message), codes);
        }

        private static string Said(string error, string description) => $"{error}: {description}";

        /// <summary>Dataverse's (and the Global Discovery Service's) {"error":{"code","message"}}, as " (code: message)", or empty.</summary>
        internal static string ODataError(string body)
        {
            try
            {
                using (var json = JsonDocument.Parse(body))
                {
                    if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
                    {
                        var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                        var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                        return $" ({code}: {EntraErrors.Trim(message)})";
                    }
                }
            }
            catch (JsonException)
            {
            }

            return "";
        }

        /// <summary>The first line, without Entra ID's "Trace ID: … Correlation ID: … Timestamp: …" tail.</summary>
        internal static string Trim(string? text)
        {
            var line = FirstLine(text);
            var trace = line.IndexOf(" Trace ID:", StringComparison.Ordinal);
            return (trace > 0 ? line.Substring(0, trace) : line).Trim();
        }

        private static string FirstLine(string? text)
        {
            text = text ?? "";
            var end = text.IndexOfAny(new[] { '\r', '\n' });
            return (end >= 0 ? text.Substring(0, end) : text).Trim();
        }
    }
}
