using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Wolverine.Http;

namespace MaestroSla.Api.Security;

/// <summary>
/// Who may call what, in one place. Every Wolverine endpoint under /api gets a policy from its route, so a new
/// endpoint is protected without anyone remembering to: GETs need read, writes need admin, unless a rule below
/// says otherwise or the endpoint carries its own [Authorize]/[AllowAnonymous].
/// </summary>
public static class ApiAccess
{
    /// <summary>The policy an endpoint needs, or null for endpoints outside /api (probes, metrics, docs).</summary>
    public static string? PolicyFor(string method, string route)
    {
        route = "/" + route.Trim('/');
        if (IsIngest(route) && HttpMethods.IsPost(method))
        {
            return ApiRoles.Ingest;
        }
        if (!route.StartsWith("/api/", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (route.StartsWith("/api/admin/", StringComparison.OrdinalIgnoreCase)
            // Dead letters hold whatever any producer sent, payload and all: operators only.
            || route.Equals("/api/dead-letters", StringComparison.OrdinalIgnoreCase))
        {
            return ApiRoles.Admin;
        }
        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? ApiRoles.Read : ApiRoles.Admin;
    }

    /// <summary>The ingest endpoints: ours, and OTLP/HTTP at the path OpenTelemetry exporters post to.</summary>
    private static bool IsIngest(string route) =>
        route.Equals("/api/ingest", StringComparison.OrdinalIgnoreCase) || route.Equals("/v1/traces", StringComparison.OrdinalIgnoreCase);

    /// <summary>Applied to every Wolverine endpoint (WolverineHttpOptions.ConfigureEndpoints).</summary>
    public static void Apply(HttpChain chain)
    {
        var route = chain.RoutePattern?.RawText;
        if (route is null)
        {
            return;
        }
        if (IsIngest("/" + route.Trim('/')))
        {
            chain.Metadata.WithMetadata(new LargeRequestBody());
        }
        var method = chain.Method.Method;
        var declared = method.GetCustomAttributes(true).Concat(method.DeclaringType?.GetCustomAttributes(true) ?? [])
            .Any(a => a is IAuthorizeData or IAllowAnonymous);
        if (declared)
        {
            return;
        }
        // A chain answering several methods needs the strictest of their policies.
        var policy = chain.HttpMethods
            .Select(m => PolicyFor(m, route))
            .OfType<string>()
            .OrderBy(p => p == ApiRoles.Admin ? 0 : 1)
            .FirstOrDefault();
        if (policy is not null)
        {
            chain.RequireAuthorization(policy);
        }
    }

    /// <summary>Whether a caller that passed the read policy may see this service (used to filter lists).</summary>
    public static bool MayRead(ClaimsPrincipal user, string service)
    {
        if (user.IsInRole(ApiRoles.Admin))
        {
            return true;
        }
        var limited = false;
        foreach (var claim in user.FindAll(ApiClaims.Service))
        {
            limited = true;
            if (string.Equals(claim.Value, service, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return !limited;
    }

    public static void AddPolicies(AuthorizationOptions options)
    {
        options.AddPolicy(ApiRoles.Ingest, p => p
            .AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName)
            .RequireAuthenticatedUser()
            .RequireRole(ApiRoles.Ingest, ApiRoles.Admin));
        options.AddPolicy(ApiRoles.Read, p => p
            .AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName)
            .RequireAuthenticatedUser()
            .RequireRole(ApiRoles.Read, ApiRoles.Admin)
            .AddRequirements(new ServiceScope()));
        options.AddPolicy(ApiRoles.Admin, p => p
            .AddAuthenticationSchemes(ApiKeyAuthentication.SchemeName)
            .RequireAuthenticatedUser()
            .RequireRole(ApiRoles.Admin));
    }

    /// <summary>Endpoint metadata: this endpoint takes Security:MaxIngestBodyBytes instead of Security:MaxBodyBytes.</summary>
    public sealed class LargeRequestBody;

    /// <summary>A read key limited to some services may only open those services' {service} routes.</summary>
    public sealed class ServiceScope : AuthorizationHandler<ServiceScope>, IAuthorizationRequirement
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ServiceScope requirement)
        {
            var service = (context.Resource as HttpContext)?.GetRouteValue("service") as string;
            if (service is null || MayRead(context.User, service))
            {
                context.Succeed(requirement);
            }
            return Task.CompletedTask;
        }
    }
}
