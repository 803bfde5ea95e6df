using System;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ConnectionTools.Connections;
using ConnectionTools.Errors;

namespace ConnectionTools.Authorization.Salesforce
{
    // The JwtBearer flow: a signed assertion for the connected app and user, exchanged for a token; used for sign-in and for refresh alike.
    public sealed partial class SalesforceAuthorizer
    {
        private async Task<AuthorizationOutcome> JwtBearerAsync(AuthorizationSpec spec, AuthorizationContext context, CancellationToken cancellationToken)
        {
            var instance = Root(spec.InstanceUrl);
            RequireJwtInputs(spec.ClientId, spec.Username, instance);
            var given = spec.Certificate;
            var certificate = given ?? CertificateLoader.Load(spec.CertificatePath, spec.CertificateThumbprint, spec.CertificatePassword);
            try
            {
                if (given != null)
                {
                    CertificateLoader.EnsurePrivateKey(given, spec.CertificatePath ?? spec.CertificateThumbprint);
                }

                var grant = new GrantMaterial
                {
                    Flow = AuthorizationFlow.JwtBearer,
                    ClientId = spec.ClientId,
                    Username = spec.Username,
                    CertificatePath = spec.CertificatePath,
                    CertificateThumbprint = spec.CertificateThumbprint ?? (spec.CertificatePath is null ? certificate.Thumbprint : null),
                    CertificatePassword = spec.CertificatePassword,
                };
                var token = await JwtBearerTokenAsync(context, spec.Type, instance, certificate, spec.ClientId!, spec.Username!, cancellationToken).ConfigureAwait(false);
                return await CompleteAsync(context, instance, token, grant, cancellationToken, kind: spec.Type).ConfigureAwait(false);
            }
            finally
            {
                if (given is null)
                {
                    certificate.Dispose();
                }
            }
        }

        private static Task<JsonElement> JwtBearerTokenAsync(AuthorizationContext context, ConnectionType type, Uri instance, X509Certificate2 certificate, string clientId, string username, CancellationToken cancellationToken)
        {
            var audience = InstanceUrls.SalesforceAudience(type);
            var assertion = SalesforceJwt.CreateAssertion(certificate, clientId, username, audience, DateTimeOffset.UtcNow, AssertionLifetime);
            return PostTokenAsync(context, instance, "jwt-bearer", new[]
            {
                Pair("grant_type", JwtBearerGrantType),
                Pair("assertion", assertion),
            }, cancellationToken);
        }

        private static void RequireJwtInputs(string? clientId, string? username, Uri instance)
        {
            if (string.IsNullOrWhiteSpace(clientId) || string.IsNullOrWhiteSpace(username))
            {
                throw new ConnectionToolsException(
                    ErrorIds.AuthorizationInvalidFlow,
                    ErrorKind.InvalidArgument,
                    "The JWT bearer flow needs the connected app's consumer key and the Salesforce username the assertion names. Nothing was sent.",
                    instance.Host,
                    "Give -ClientId <consumer key> -Username <user> with -CertificatePath <pfx> or -CertificateThumbprint.");
            }
        }
    }
}
