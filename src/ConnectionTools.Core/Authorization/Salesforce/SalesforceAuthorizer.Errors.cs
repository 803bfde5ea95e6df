using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Salesforce
{
    // Reading what Salesforce answers: JSON fields, OAuth and REST error bodies, and the errors made of them. Provider texts are clipped and kept to one line.
    public sealed partial class SalesforceAuthorizer
    {
        private const int MaxProviderTextLength = 300;

        private static readonly HashSet<string> RefusalErrors = new HashSet<string>(StringComparer.Ordinal)
        {
            "invalid_grant", "access_denied", "inactive_user", "inactive_org", "invalid_app_access",
        };

        private static Exception TokenError(int status, string? error, string? description, Uri url)
        {
            if (error is null)
            {
                return Protocol(url, $"the token endpoint answered HTTP {status} without an OAuth error", null);
            }

            var said = Said(error, description);
            if (error == "invalid_client_id" || error == "invalid_client")
            {
                return new ConnectionToolsException(
                    ErrorIds.AuthorizationInvalidClient,
                    ErrorKind.InvalidArgument,
                    $"Salesforce at {url.Host} does not accept the connected app ({said}). Nothing was stored.",
                    url.Host,
                    "Check that -ClientId is the connected app's consumer key and that the app is available in this org (a new connected app can take up to 10 minutes to work).");
            }

            if (RefusalErrors.Contains(error))
            {
                return new ProviderRefusedException(AuthorizationFailures.ClassifySalesforce(error, description), said);
            }

            return Protocol(url, $"the token endpoint answered HTTP {status} ({said})", null);
        }

        private static ConnectionToolsException Protocol(Uri url, string what, string? fix) => new ConnectionToolsException(
            ErrorIds.AuthorizationProtocol,
            ErrorKind.InvalidData,
            $"Salesforce at {url.Host} gave an unexpected answer: {what}. Nothing was stored.",
            url.Host,
            fix ?? "Run the command again; if it keeps failing, check the connected app's settings and Salesforce's status.");

        private static ConnectionToolsException TimedOut(Uri instance, TimeSpan waited, string what) => new ConnectionToolsException(
            ErrorIds.AuthorizationTimedOut,
            ErrorKind.OperationTimeout,
            $"No one completed {what} for {instance.Host} within {Seconds(waited)}. Nothing was stored.",
            instance.Host,
            "Run the command again and finish the sign-in sooner, or use the JWT bearer flow for unattended runs.");

        private static ConnectionToolsException InvalidFlow(AuthorizationFlow flow, Uri instance) => new ConnectionToolsException(
            ErrorIds.AuthorizationInvalidFlow,
            ErrorKind.InvalidArgument,
            $"Salesforce connections cannot use the {flow} flow; ClientSecret and ClientCertificate are for Dynamics 365 (Entra ID). Nothing was sent.",
            instance.Host,
            "Use -Flow Interactive, DeviceCode, or JwtBearer (-ClientId -Username -CertificatePath) for Salesforce.");

        private static ConnectionToolsException NoRefreshToken(Uri instance) => new ConnectionToolsException(
            ErrorIds.AuthorizationNoGrant,
            ErrorKind.InvalidData,
            $"The stored grant for {instance.Host} has no refresh token, so it cannot be renewed. Nothing was sent.",
            instance.Host,
            "Authorize the connection again with Update-ConnectionAuthorization.");

        private static JsonElement ParseObject(string body, Uri url)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    if (document.RootElement.ValueKind != JsonValueKind.Object)
                    {
                        throw Protocol(url, "the answer is not a JSON object", null);
                    }

                    return document.RootElement.Clone();
                }
            }
            catch (JsonException)
            {
                throw Protocol(url, "the answer is not JSON", null);
            }
        }

        /// <summary>error and error_description of an OAuth error body; (null, null) when the body is not one.</summary>
        private static (string? Error, string? Description) ReadError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind != JsonValueKind.Object)
                    {
                        return (null, null);
                    }

                    return (Clip(String(root, "error")), Clip(String(root, "error_description")));
                }
            }
            catch (JsonException)
            {
                return (null, null);
            }
        }

        /// <summary>"errorCode: message" of a REST API error body ([{"message":…,"errorCode":…}]), or null.</summary>
        private static string? ReadApiError(string body)
        {
            try
            {
                using (var document = JsonDocument.Parse(body))
                {
                    var root = document.RootElement;
                    if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0)
                    {
                        root = root[0];
                    }

                    if (root.ValueKind != JsonValueKind.Object)
                    {
                        return null;
                    }

                    var code = Clip(String(root, "errorCode") ?? String(root, "error"));
                    var message = Clip(String(root, "message") ?? String(root, "error_description"));
                    return code is null ? message : Said(code, message);
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private static string Said(string error, string? description) => string.IsNullOrEmpty(description) ? error : $"{error}: {description}";

        /// <summary>Provider texts go into messages: keep them short and on one line.</summary>
        private static string? Clip(string? text)
        {
            if (text is null)
            {
                return null;
            }

            var builder = new StringBuilder(Math.Min(text.Length, MaxProviderTextLength));
            foreach (var c in text)
            {
                if (builder.Length >= MaxProviderTextLength)
                {
                    builder.Append('…');
                    break;
                }

                builder.Append(char.IsControl(c) ? ' ' : c);
            }

            return builder.ToString();
        }

        private static string? String(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static long? Number(JsonElement element, string name)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(name, out var value))
            {
                return null;
            }

            if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
            {
                return number;
            }

            return value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : (long?)null;
        }

        private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";
    }
}
