using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Salesforce
{
    // The DeviceCode flow: the code shown to the user, then polling the token endpoint until it is approved, declined or expires.
    public sealed partial class SalesforceAuthorizer
    {
        private async Task<AuthorizationOutcome> DeviceCodeAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var instance = Root(spec.InstanceUrl);
            var clientId = ClientIdOf(spec.ClientId, instance);
            var started = Stopwatch.StartNew();
            var device = await PostFormAsync(context, instance, "device_code", new[]
            {
                Pair("response_type", "device_code"),
                Pair("client_id", clientId),
                Pair("scope", Scope),
            }, false, cancellationToken).ConfigureAwait(false);
            var deviceCode = String(device, "device_code");
            var userCode = String(device, "user_code");
            var verification = String(device, "verification_uri");
            if (deviceCode is null || userCode is null || verification is null)
            {
                throw Protocol(instance, "the device code answer lacks device_code, user_code or verification_uri", null);
            }

            var interval = TimeSpan.FromSeconds(Math.Max(1, Number(device, "interval") ?? 5));
            var deadline = context.InteractionTimeout;
            if (Number(device, "expires_in") is long expiresIn && expiresIn > 0 && TimeSpan.FromSeconds(expiresIn) < deadline)
            {
                deadline = TimeSpan.FromSeconds(expiresIn);
            }

            context.ShowDeviceCode($"To sign in to Salesforce, open {verification} in a browser on any device and enter the code {userCode}.");
            context.Verbose($"Waiting for the device code to be approved at {instance.Host} (polling every {Seconds(interval)}, at most {Seconds(deadline)}).");
            var polls = 0;
            while (true)
            {
                if (started.Elapsed + interval > deadline)
                {
                    throw TimedOut(instance, deadline, "the device-code sign-in");
                }

                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
                polls++;
                var url = new Uri(instance, TokenPath);
                var (status, body) = await SendAsync(context, HttpMethod.Post, url, new[]
                {
                    Pair("grant_type", "device"),
                    Pair("client_id", clientId),
                    Pair("code", deviceCode),
                }, null, "device", true, cancellationToken).ConfigureAwait(false);
                if (status == 200)
                {
                    context.Verbose($"POST {url.AbsoluteUri} (device) → 200 after {polls} polls in {Seconds(started.Elapsed)}.");
                    var grant = new GrantMaterial { Flow = AuthorizationFlow.DeviceCode, ClientId = clientId };
                    return await CompleteAsync(context, instance, ParseObject(body, instance), grant, cancellationToken, requireRefreshToken: true, kind: spec.Type).ConfigureAwait(false);
                }

                var (error, description) = ReadError(body);
                switch (error)
                {
                    case "authorization_pending":
                        continue;
                    case "slow_down":
                        interval += TimeSpan.FromSeconds(5);
                        context.Verbose($"Salesforce asked to poll more slowly: every {Seconds(interval)} from now on.");
                        continue;
                    case "access_denied":
                        throw new ConnectionToolsException(
                            ErrorIds.AuthorizationDeclined,
                            ErrorKind.PermissionDenied,
                            $"The device-code sign-in was declined at Salesforce ({Said(error, description)}). Nothing was stored.",
                            instance.Host,
                            "Run the command again and choose Allow after entering the code.");
                    case "expired_token":
                        throw TimedOut(instance, started.Elapsed, "the device-code sign-in");
                    case "invalid_grant" when (description ?? "").IndexOf("expired", StringComparison.OrdinalIgnoreCase) >= 0:
                        throw TimedOut(instance, started.Elapsed, "the device-code sign-in");
                    default:
                        throw TokenError(status, error, description, url);
                }
            }
        }
    }
}
