using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.Core;
using Mesh.Gateway.GrpcWire;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Authentication;

/// <summary>
/// ASP.NET Core authentication for <c>authorization: Bearer &lt;api key&gt;</c>. A known key becomes a
/// principal carrying the key's name and tenant; YARP routes that name an authorization policy then
/// require it. Challenges are answered as gRPC UNAUTHENTICATED, not HTTP 401, so gRPC clients see a
/// status with a message that says what to send.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The authentication scheme's name, as routes and policies refer to it.</summary>
    public const string SchemeName = "ApiKey";
    private const string BearerPrefix = "Bearer ";
    private const string MissingKeyMessage = "Missing API key: send the metadata 'authorization: Bearer <key>'.";

    /// <inheritdoc/>
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || header.Length == BearerPrefix.Length)
        {
            return Task.FromResult(AuthenticateResult.Fail("The authorization metadata must be 'Bearer <key>'."));
        }

        var key = keys.FindByPresentedKey(header[BearerPrefix.Length..].Trim());
        if (key is null)
        {
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var identity = new ClaimsIdentity(
            [new Claim(GatewayClaims.KeyName, key.Name), new Claim(GatewayClaims.Tenant, key.Tenant)],
            SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    /// <inheritdoc/>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        await GrpcError.WriteAsync(Context, StatusCode.Unauthenticated, result.Failure?.Message ?? MissingKeyMessage);
    }

    /// <inheritdoc/>
    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        GrpcError.WriteAsync(Context, StatusCode.PermissionDenied, "This API key may not call this service.");
}
