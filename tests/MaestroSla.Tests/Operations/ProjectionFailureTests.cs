using System.Net;
using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
using MaestroSla.Projections.Latency;
using MaestroSla.Tests.Cli;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Operations;

/// <summary>A projection that throws on an event halts: counted, on /health of every replica, in `maestrosla status`.</summary>
[Collection(SharedServices.Name)]
public sealed class ProjectionFailureTests(ServicesFixture services, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task a_poison_event_halts_the_rollup_projection_which_metrics_health_of_every_replica_and_status_report_while_readiness_holds()
    {
        var database = await services.CreateDatabaseAsync();
        var fast = new Dictionary<string, string?> { ["Operations:SampleInterval"] = "00:00:01" };
        await using var worker = await RunningApp.StartAsync(database, fast);
        // Some valid traffic first, projected: the shard has progress (and a progression row) when the poison comes.
        // The rollups are sharded by service, and a shard writes its progression row once it projected an event of
        // its own: the poisoned service sends valid requests first, so its shard has that row.
        var traffic = TestTraffic.Requests(200, DateTimeOffset.UtcNow, seed: 5);
        var messages = traffic.Messages.Append(TestTraffic.Request("poisoned", "GET /x", 12.5, 200, DateTimeOffset.UtcNow));
        using (var body = new StringContent("[" + string.Join(",", messages.Select(System.Text.Encoding.UTF8.GetString)) + "]", System.Text.Encoding.UTF8, "application/json"))
        {
            (await worker.Client.PostAsync("/api/ingest", body)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        const string caughtUp = "ingest_gaps 0 behind, latency_rollups_0 0 behind, latency_rollups_1 0 behind, uptime_signals 0 behind";
        var projected = await HealthReply.WaitAsync(worker.Client, "/health", r => r.Components["projections"].Description == caughtUp, Patience);
        projected.Components["projections"].Description.ShouldBe(caughtUp, projected.Body);
        projected.Components["projections"].Status.ShouldBe("Healthy");

        // Latency bytes that are no HDR histogram, twice in one minute so that the projection has to merge (decode) them.
        await using (var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), database)))
        await using (var session = store.LightweightSession())
        {
            var minute = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, 0, 0, 0, TimeSpan.Zero);
            session.Events.Append("poisoned", new RequestsRecorded("poisoned", "GET /x", [new MinuteOfRequests(minute, 1, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]), new MinuteOfRequests(minute, 1, 0, [9, 8, 7, 6, 5, 4, 3, 2, 1])]));
            await session.SaveChangesAsync();
        }

        // The poisoned service's shard halts, the others go on.
        var shard = $"{LatencyRollupShards.NameOf(new LatencyRollupShards(LatencyRollupShards.DefaultCount).IndexOf("poisoned"))}:All";

        // The replica running the daemon counts the errors and shows the halted shard with its error.
        var halted = await HealthReply.WaitAsync(worker.Client, "/health", r => r.Components["projections"].Status == "Degraded", Patience);
        output.WriteLine(halted.Components["projections"].Description);
        halted.Components["projections"].Status.ShouldBe("Degraded", halted.Body);
        halted.Components["projections"].Description!.ShouldContain(shard);
        halted.Status.ShouldBe("Degraded");
        var scrape = await ScrapeUntilAsync(worker.Client, s => PrometheusText.Sum(s, "maestrosla_projection_errors_total", $"shard=\"{shard}\"") >= 1);
        PrometheusText.Sum(scrape, "maestrosla_projection_errors_total", $"shard=\"{shard}\"").ShouldBeGreaterThanOrEqualTo(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_pauses_total", $"shard=\"{shard}\"").ShouldBeGreaterThanOrEqualTo(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_halted", $"shard=\"{shard}\"").ShouldBe(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_halted", "shard=\"uptime_signals:All\"").ShouldBe(0, scrape);

        // A replica without the daemon (started only now: OpenTelemetry listens to every meter of its name in the
        // process, so two hosts in one test process would mix their series). The progression row's status reads
        // Running between the shard's pauses, so what this replica relies on is the shard's sequence standing still
        // while events wait for it (Operations:ProjectionStalledAfter, shortened here).
        await using var apiOnly = await RunningApp.StartAsync(database, new Dictionary<string, string?>(fast)
        {
            ["Projections:Daemon"] = "Disabled",
            ["Operations:ProjectionStalledAfter"] = "00:00:03",
        });
        var seen = await HealthReply.WaitAsync(apiOnly.Client, "/health", r => r.Components["projections"].Description?.Contains(shard, StringComparison.Ordinal) == true, Patience);
        output.WriteLine(seen.Body);
        seen.Components["projections"].Status.ShouldBe("Degraded", seen.Body);
        seen.Components["projections"].Description!.ShouldContain(shard);
        var replicaScrape = await ScrapeUntilAsync(apiOnly.Client, s => PrometheusText.Sum(s, "maestrosla_projection_halted", $"shard=\"{shard}\"") == 1);
        PrometheusText.Sum(replicaScrape, "maestrosla_projection_halted", $"shard=\"{shard}\"").ShouldBe(1, replicaScrape);
        PrometheusText.Sum(replicaScrape, "maestrosla_projection_halted", "shard=\"uptime_signals:All\"").ShouldBe(0, replicaScrape);

        // Serving goes on: readiness is about serving.
        foreach (var app in new[] { worker, apiOnly })
        {
            var ready = await HealthReply.GetAsync(app.Client, "/ready");
            ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
        }

        var (exit, status) = await CliTests.RunAsync("status", "--url", worker.Client.BaseAddress!.ToString());
        output.WriteLine(status);
        exit.ShouldBe(0, status);
        status.ShouldContain("Pipeline: Degraded");
        var row = status.Split('\n').Single(l => l.Contains(" projections ", StringComparison.Ordinal));
        row.ShouldContain("Degraded");
        row.ShouldContain(shard);
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient client, Func<string, bool> until)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var scrape = await client.GetStringAsync("/metrics");
            if (until(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }
            await Task.Delay(250);
        }
    }
}
