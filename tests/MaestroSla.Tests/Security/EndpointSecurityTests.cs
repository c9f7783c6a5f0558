using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using MaestroSla.Api.Security;
using MaestroSla.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Security;

/// <summary>Every endpoint the running app maps, called without a key, with a wrong key, with a key lacking its role and with one holding it.</summary>
[Collection(SharedServices.Name)]
public sealed partial class EndpointSecurityTests(ServicesFixture services)
{
    /// <summary>Operational endpoints that stay anonymous: probes and scrapes cannot hold keys; the API's documentation is public.</summary>
    private static readonly string[] AnonymousPrefixes = ["/healthz", "/ready", "/health", "/metrics", "/openapi/", "/docs"];

    /// <summary>The decisions, spelled out: every endpoint of today with the role it needs.</summary>
    private static readonly (string Method, string Route, string Role)[] Decided =
    [
        ("POST", "/api/ingest", ApiRoles.Ingest),
        ("POST", "/v1/traces", ApiRoles.Ingest),
        ("GET", "/api/reports/{service}", ApiRoles.Read),
        ("GET", "/api/status", ApiRoles.Read),
        ("GET", "/api/services/{service}/targets", ApiRoles.Read),
        ("GET", "/api/services/{service}/customers", ApiRoles.Read),
        ("PUT", "/api/services/{service}/targets", ApiRoles.Admin),
        ("GET", "/api/dead-letters", ApiRoles.Admin),
    ];

    [Fact]
    public async Task every_api_endpoint_answers_401_without_a_key_or_with_a_wrong_one_and_403_to_a_key_without_its_role()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        using var anonymous = app.CreateClient(null);
        using var unknown = app.CreateClient(SecuredApp.UnknownKey);
        var byRole = new Dictionary<string, (HttpClient Allowed, HttpClient Refused)>
        {
            [ApiRoles.Ingest] = (app.CreateClient(SecuredApp.IngestKey), app.CreateClient(SecuredApp.ReadKey)),
            [ApiRoles.Read] = (app.CreateClient(SecuredApp.ReadKey), app.CreateClient(SecuredApp.IngestKey)),
            [ApiRoles.Admin] = (app.Client, app.CreateClient(SecuredApp.IngestAndReadKey)),
        };

        var routes = Routes(app);
        foreach (var (method, route, role) in Decided)
        {
            routes.Where(r => r.Method == method && r.Route == route).Select(r => r.Policies).ShouldHaveSingleItem($"{method} {route}").ShouldBe([role]);
        }
        foreach (var (method, route, policies, allowsAnonymous) in routes)
        {
            var url = Url(route);
            var what = $"{method} {route}";
            // OTLP's standard path lies outside /api and is guarded like it.
            if (!route.StartsWith("/api/", StringComparison.Ordinal) && route != "/v1/traces")
            {
                AnonymousPrefixes.ShouldContain(p => route.StartsWith(p, StringComparison.Ordinal), $"{what} is outside /api: anonymous operational endpoints only");
                var open = await anonymous.SendAsync(Request(method, url, route));
                open.StatusCode.ShouldNotBeOneOf([HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden], what);
                continue;
            }

            allowsAnonymous.ShouldBeFalse(what);
            policies.Count.ShouldBe(1, $"{what} must need exactly one role policy");
            var policy = policies[0];
            await (await anonymous.SendAsync(Request(method, url, route))).ShouldBeProblemAsync(401);
            await (await unknown.SendAsync(Request(method, url, route))).ShouldBeProblemAsync(401);
            var (allowed, refused) = byRole[policy];
            await (await refused.SendAsync(Request(method, url, route))).ShouldBeProblemAsync(403);
            var ok = await allowed.SendAsync(Request(method, url, route));
            ok.StatusCode.ShouldNotBeOneOf([HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden], $"{what} with a key holding '{policy}': {await ok.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task a_read_key_limited_to_some_services_gets_403_for_the_others_and_sees_only_its_own_in_the_status()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        await SecuredApp.SeedTwoServicesAsync(app);
        using var checkout = app.CreateClient(SecuredApp.CheckoutOnlyKey);
        using var analyst = app.CreateClient(SecuredApp.ReadKey);

        (await checkout.GetAsync("/api/reports/svc-a")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await checkout.GetAsync("/api/services/svc-a/targets")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var refused = await checkout.GetAsync("/api/reports/svc-b");
        await refused.ShouldBeProblemAsync(403);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("may read only [svc-a]");
        await (await checkout.GetAsync("/api/services/svc-b/targets")).ShouldBeProblemAsync(403);
        await (await checkout.GetAsync("/api/reports/svc-b?format=csv")).ShouldBeProblemAsync(403);

        var limited = await checkout.GetFromJsonAsync<JsonElement>("/api/status");
        limited.EnumerateArray().Select(s => s.GetProperty("service").GetString()).ShouldBe(["svc-a"]);
        var everything = await analyst.GetFromJsonAsync<JsonElement>("/api/status");
        everything.EnumerateArray().Select(s => s.GetProperty("service").GetString()).ShouldBe(["svc-a", "svc-b"]);
        (await analyst.GetAsync("/api/reports/svc-b")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task the_key_may_also_come_as_an_authorization_header_but_never_in_the_query_string()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        using var client = app.CreateClient(null);

        using var withAuthorization = new HttpRequestMessage(HttpMethod.Get, "/api/status");
        withAuthorization.Headers.TryAddWithoutValidation("Authorization", $"ApiKey {SecuredApp.ReadKey}");
        (await client.SendAsync(withAuthorization)).StatusCode.ShouldBe(HttpStatusCode.OK);

        using var otherScheme = new HttpRequestMessage(HttpMethod.Get, "/api/status");
        otherScheme.Headers.TryAddWithoutValidation("Authorization", $"Bearer {SecuredApp.ReadKey}");
        await (await client.SendAsync(otherScheme)).ShouldBeProblemAsync(401);

        var inQuery = await client.GetAsync($"/api/status?apiKey={SecuredApp.ReadKey}&api_key={SecuredApp.ReadKey}&X-Api-Key={SecuredApp.ReadKey}");
        await inQuery.ShouldBeProblemAsync(401);
        inQuery.Headers.WwwAuthenticate.ToString().ShouldContain("ApiKey");
    }

    [Fact]
    public async Task with_no_keys_configured_the_api_runs_open_for_the_local_demo()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await RunningApp.StartAsync(connectionString, withAdminKey: false);
        using var client = app.CreateClient(null);

        (await client.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = new StringContent("[]", Encoding.UTF8, "application/json");
        (await client.PostAsync("/api/ingest", body)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync("/api/dead-letters")).StatusCode.ShouldBe(HttpStatusCode.OK);
        app.App.Services.GetRequiredService<ApiKeyStore>().IsOpen.ShouldBeTrue();
    }

    [Fact]
    public async Task requiring_keys_without_configuring_any_stops_the_start_with_the_setting_named()
    {
        var connectionString = await services.CreateDatabaseAsync();
        var failure = await Should.ThrowAsync<Exception>(() =>
            RunningApp.StartAsync(connectionString, new Dictionary<string, string?> { ["Security:RequireApiKeys"] = "true" }, withAdminKey: false));
        failure.Message.ShouldContain("Security:RequireApiKeys is true but no Security:ApiKeys are configured");
    }

    private static HttpRequestMessage Request(string method, string url, string route)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method is "POST" or "PUT" or "PATCH")
        {
            // Enough for a permitted call to get past binding: an empty ingest batch, default targets.
            request.Content = new StringContent(route == "/api/ingest" ? "[]" : "{}", Encoding.UTF8, "application/json");
        }
        return request;
    }

    private static string Url(string route) =>
        RouteParameter().Replace(route, m => m.Groups[1].Value == "service" ? "svc-a" : "x");

    private static List<(string Method, string Route, List<string> Policies, bool AllowsAnonymous)> Routes(RunningApp app) =>
        app.App.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (
                Method: m,
                Route: "/" + e.RoutePattern.RawText!.TrimStart('/'),
                Policies: e.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).OfType<string>().Distinct().ToList(),
                AllowsAnonymous: e.Metadata.GetMetadata<IAllowAnonymous>() is not null)))
            .Where(r => r.Method is not ("OPTIONS" or "HEAD"))
            .ToList();

    [GeneratedRegex(@"\{\**([A-Za-z_]+)[^}]*\}")]
    private static partial Regex RouteParameter();
}
