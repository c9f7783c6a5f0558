using System.Net;
using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
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
        var traffic = TestTraffic.Requests(200, DateTimeOffset.UtcNow, seed: 5);
        using (var body = new StringContent("[" + string.Join(",", traffic.Messages.Select(System.Text.Encoding.UTF8.GetString)) + "]", System.Text.Encoding.UTF8, "application/json"))
        {
            (await worker.Client.PostAsync("/api/ingest", body)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        (await HealthReply.WaitAsync(worker.Client, "/health", r => r.Components["projections"].Description == "latency_rollups 0 behind, uptime_signals 0 behind", Patience))
            .Components["projections"].Status.ShouldBe("Healthy");

        // Latency bytes that are no HDR histogram, twice in one minute so that the projection has to merge (decode) them.
        await using (var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), database)))
        await using (var session = store.LightweightSession())
        {
            var minute = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, 0, 0, 0, TimeSpan.Zero);
            session.Events.Append("poisoned", new RequestsRecorded("poisoned", "GET /x", [new MinuteOfRequests(minute, 1, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9]), new MinuteOfRequests(minute, 1, 0, [9, 8, 7, 6, 5, 4, 3, 2, 1])]));
            await session.SaveChangesAsync();
        }

        // The replica running the daemon counts the errors and shows the halted shard with its error.
        var halted = await HealthReply.WaitAsync(worker.Client, "/health", r => r.Components["projections"].Status == "Degraded", Patience);
        output.WriteLine(halted.Components["projections"].Description);
        halted.Components["projections"].Status.ShouldBe("Degraded", halted.Body);
        halted.Components["projections"].Description!.ShouldContain("latency_rollups:All");
        halted.Status.ShouldBe("Degraded");
        var scrape = await ScrapeUntilAsync(worker.Client, s => PrometheusText.Sum(s, "maestrosla_projection_errors_total", "shard=\"latency_rollups:All\"") >= 1);
        PrometheusText.Sum(scrape, "maestrosla_projection_errors_total", "shard=\"latency_rollups:All\"").ShouldBeGreaterThanOrEqualTo(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_pauses_total", "shard=\"latency_rollups:All\"").ShouldBeGreaterThanOrEqualTo(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_halted", "shard=\"latency_rollups:All\"").ShouldBe(1, scrape);
        PrometheusText.Sum(scrape, "maestrosla_projection_halted", "shard=\"uptime_signals:All\"").ShouldBe(0, scrape);

        // A replica without the daemon learns it from the progression rows. Started only now: OpenTelemetry listens
        // to every meter of its name in the process, so two hosts in one test process would mix their series.
        await using var apiOnly = await RunningApp.StartAsync(database, new Dictionary<string, string?>(fast) { ["Projections:Daemon"] = "Disabled" });
        var elsewhere = await HealthReply.WaitAsync(apiOnly.Client, "/health", r => r.Components["projections"].Status == "Degraded", Patience);
        output.WriteLine(elsewhere.Components["projections"].Description);
        elsewhere.Components["projections"].Description!.ShouldContain("latency_rollups:All");
        elsewhere.Components["projections"].Description!.ShouldContain("Paused");

        // Serving goes on: readiness is about serving.
        foreach (var app in new[] { worker, apiOnly })
        {
            var ready = await HealthReply.GetAsync(app.Client, "/ready");
            ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
        }

        var (exit, status) = await CliTests.RunAsync("status", "--url", apiOnly.Client.BaseAddress!.ToString());
        output.WriteLine(status);
        exit.ShouldBe(0, status);
        status.ShouldContain("Pipeline: Degraded");
        var row = status.Split('\n').Single(l => l.Contains(" projections ", StringComparison.Ordinal));
        row.ShouldContain("Degraded");
        row.ShouldContain("latency_rollups:All");
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
