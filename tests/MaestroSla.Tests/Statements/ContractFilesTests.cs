using System.Text.Json;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Statements;

/// <summary>Contracts kept as YAML files (Contracts:Directory) become versions at start, only when they changed.</summary>
[Collection(SharedServices.Name)]
public sealed class ContractFilesTests(ServicesFixture services)
{
    private const string Acme = """
        services: [checkout, payments]
        timeZone: Europe/Berlin
        measure: combined
        effectiveFrom: 2026-10
        targets:
          uptime: 99.9
          availability: 99.5
          latency_p99: 300
        maintenance:
          excludeDowntime: true
          excludeRequests: true
        credits:
          - below: 99.9
            percent: 10
          - below: 99.0
            percent: 25
          - below: 95.0
            percent: 100
        creditMetric: uptime
        """;

    [Fact]
    public async Task a_file_becomes_a_version_at_start_a_restart_adds_none_an_edit_adds_one_and_a_bad_file_stops_the_start()
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-contracts-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "acme.yaml"), Acme);
            await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
            var settings = new Dictionary<string, string?> { ["Contracts:Directory"] = folder };

            await using (var app = await RunningApp.StartAsync(store.ConnectionString, settings))
            {
                var contract = JsonDocument.Parse(await app.Client.GetStringAsync("/api/contracts/acme")).RootElement;
                var current = contract.GetProperty("current");
                current.GetProperty("version").GetInt32().ShouldBe(1);
                current.GetProperty("source").GetString().ShouldBe("file:acme.yaml");
                current.GetProperty("author").GetString().ShouldBe("configuration");
                var terms = current.GetProperty("terms");
                terms.GetProperty("services").EnumerateArray().Select(s => s.GetString()).ShouldBe(["checkout", "payments"]);
                terms.GetProperty("targets").GetProperty("latency_p99").GetDouble().ShouldBe(300);
                terms.GetProperty("credits")[1].GetProperty("percent").GetDouble().ShouldBe(25);
                terms.GetProperty("maintenance").GetProperty("excludeRequests").GetBoolean().ShouldBeTrue();
            }
            await using (var app = await RunningApp.StartAsync(store.ConnectionString, settings))
            {
                Versions(await app.Client.GetStringAsync("/api/contracts/acme")).ShouldBe(1, "the same terms again are no new version");
            }
            await File.WriteAllTextAsync(Path.Combine(folder, "acme.yaml"), Acme.Replace("percent: 25", "percent: 30", StringComparison.Ordinal));
            await using (var app = await RunningApp.StartAsync(store.ConnectionString, settings))
            {
                Versions(await app.Client.GetStringAsync("/api/contracts/acme")).ShouldBe(2);
            }

            await File.WriteAllTextAsync(Path.Combine(folder, "bad.yaml"), Acme.Replace("percent: 25", "percent: 5", StringComparison.Ordinal));
            var failed = await Should.ThrowAsync<InvalidOperationException>(() => RunningApp.StartAsync(store.ConnectionString, settings));
            failed.Message.ShouldContain("bad.yaml");
            failed.Message.ShouldContain("credits[1].percent");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static int Versions(string body) => JsonDocument.Parse(body).RootElement.GetProperty("versions").GetArrayLength();
}
