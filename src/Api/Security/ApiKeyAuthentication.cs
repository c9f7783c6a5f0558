using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Security;

/// <summary>
/// Authenticates `X-Api-Key: KEY` or `Authorization: ApiKey KEY`. Keys in query strings are not accepted: they end up
/// in access logs and browser histories.
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    private const string AuthorizationPrefix = SchemeName + " ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (keys.IsOpen)
        {
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(keys.OpenPrincipal, SchemeName)));
        }
        var presented = PresentedKey(Request);
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var principal = keys.Find(presented);
        if (principal is null)
        {
            // Never the key itself, nor a prefix of it: only that one was refused and from where.
            Logger.LogInformation("Refused an unknown API key from {RemoteAddress}", Context.Connection.RemoteIpAddress);
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid"));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\"";
        await WriteProblemAsync(
            result.Failure is null ? "An API key is required" : "The API key is not valid",
            $"Send the key in the {HeaderName} header (or as 'Authorization: {SchemeName} <key>').");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var roles = string.Join(", ", Context.User.FindAll(c => c.Type == Context.User.Identities.First().RoleClaimType).Select(c => c.Value));
        var services = Context.User.FindAll(ApiClaims.Service).Select(c => c.Value).ToList();
        await WriteProblemAsync(
            "This API key may not do this",
            $"Key '{Context.User.Identity?.Name}' has roles [{roles}]" +
            (services.Count == 0 ? "" : $" and may read only [{string.Join(", ", services)}]") +
            $"; {Request.Method} {Request.Path} needs another.");
    }

    private async Task WriteProblemAsync(string title, string detail)
    {
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = Response.StatusCode, Title = title, Detail = detail },
        });
    }

    public static string? PresentedKey(HttpRequest request)
    {
        var header = request.Headers[HeaderName];
        if (header.Count == 1 && !string.IsNullOrEmpty(header[0]))
        {
            return header[0];
        }
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 1 && authorization[0] is { } value && value.StartsWith(AuthorizationPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var key = value[AuthorizationPrefix.Length..].Trim();
            return key.Length == 0 ? null : key;
        }
        return null;
    }
}
