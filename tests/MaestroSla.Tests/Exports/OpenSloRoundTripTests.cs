using System.Net;
using System.Net.Http.Json;
using System.Text;
using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Exports;

/// <summary>Export from one service's database, import into another's: the same targets, the same export.</summary>
[Collection(SharedServices.Name)]
public sealed class OpenSloRoundTripTests(ServicesFixture services)
{
    [Fact]
    public async Task an_export_imported_into_another_database_gives_identical_targets_and_an_identical_export()
    {
        string exported;
        Dictionary<string, string> before;
        await using (var source = await IngestHarness.CreateAsync(services, partitions: 1))
        await using (var app = await RunningApp.StartAsync(source.ConnectionString, new Dictionary<string, string?> { ["Sla:Services:search:P99Ms"] = "300" }))
        {
            (await app.Client.PutAsJsonAsync("/api/services/checkout/targets", OpenSloTests.Odd)).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await app.Client.PutAsJsonAsync("/api/services/billing/targets", new SlaTargets { P95Ms = 75 })).StatusCode.ShouldBe(HttpStatusCode.OK);
            // A service that only recorded telemetry keeps the defaults.
            using var telemetry = new StringContent(
                "[{\"v\":1,\"type\":\"request\",\"service\":\"catalog\",\"endpoint\":\"GET /\",\"latencyMs\":5,\"status\":200,\"ts\":\"" + DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O") + "\"}]",
                Encoding.UTF8, "application/json");
            (await app.Client.PostAsync("/api/ingest", telemetry)).StatusCode.ShouldBe(HttpStatusCode.OK);

            var response = await app.Client.GetAsync("/api/exports/openslo");
            response.Content.Headers.ContentType!.MediaType.ShouldBe("application/yaml");
            exported = await response.Content.ReadAsStringAsync();
            before = await TargetsAsync(app, "billing", "catalog", "checkout", "search");
        }
        OpenSloTests.CountOf(exported, "kind: Service").ShouldBe(4);

        await using var target = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var other = await RunningApp.StartAsync(target.ConnectionString);
        using var body = new StringContent(exported, Encoding.UTF8, "application/yaml");
        var import = await other.Client.PostAsync("/api/imports/openslo", body);
        import.StatusCode.ShouldBe(HttpStatusCode.OK, await import.Content.ReadAsStringAsync());

        (await TargetsAsync(other, "billing", "catalog", "checkout", "search")).ShouldBe(before);
        (await other.Client.GetStringAsync("/api/exports/openslo")).ShouldBe(exported);
        (await other.Client.GetStringAsync("/api/exports/openslo?service=checkout")).ShouldBe(OpenSlo.Export([("checkout", OpenSloTests.Odd)]));

        // All or nothing: one bad service and nothing is stored.
        using var bad = new StringContent(exported.Replace("value: 75", "value: 0", StringComparison.Ordinal), Encoding.UTF8, "application/yaml");
        var refused = await other.Client.PostAsync("/api/imports/openslo", bad);
        refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await refused.Content.ReadAsStringAsync()).ShouldContain("service 'billing': p95Ms must be a positive number");
    }

    private static async Task<Dictionary<string, string>> TargetsAsync(RunningApp app, params string[] services)
    {
        var targets = new Dictionary<string, string>();
        foreach (var service in services)
        {
            var effective = await app.Client.GetFromJsonAsync<EffectiveTargets>($"/api/services/{service}/targets");
            targets[service] = effective!.Targets.ToString();
        }
        return targets;
    }
}
