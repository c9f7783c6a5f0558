using System.Globalization;
using System.Text;
using MaestroSla.Projections.Latency;
using MaestroSla.Tests.Infra;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Operations;

[Collection(SharedServices.Name)]
public sealed class MetricsEndpointTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task metrics_pass_promtool_and_the_ingest_counters_equal_what_the_apps_own_consumer_stored()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        await using var app = await RunningApp.StartAsync(harness.ConnectionString, HealthEndpointTests.ConsumerSettings(harness));

        var traffic = TestTraffic.Requests(3_000, DateTimeOffset.UtcNow, seed: 29);
        var invalid = new[] { "{oops", "[1,2]", "{\"v\":1,\"type\":\"metric\"}" };
        harness.Produce([.. traffic.Messages, .. invalid.Select(Encoding.UTF8.GetBytes)]);
        var messages = traffic.Messages.Count + invalid.Length;

        // Waits for the counter first: the consumer joins the group and stores in its own time.
        var scrape = await ScrapeUntilAsync(app.Client, s => Sum(s, "maestrosla_ingest_messages_total") >= messages);
        (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);

        Sum(scrape, "maestrosla_ingest_messages_total").ShouldBe(messages, scrape);
        Sum(scrape, "maestrosla_ingest_requests_total").ShouldBe(traffic.TotalRequests);
        Sum(scrape, "maestrosla_ingest_dead_letters_total").ShouldBe(invalid.Length);
        Sum(scrape, "maestrosla_ingest_batches_total").ShouldBeGreaterThanOrEqualTo(1);

        // Lags are sampled: once everything is stored and projected, all fall to zero (one series per projection).
        scrape = await ScrapeUntilAsync(app.Client, s =>
            Sample(s, "maestrosla_kafka_consumer_lag_messages") == 0 && Series(s, "maestrosla_projection_lag_events").All(lag => lag == 0));
        Sample(scrape, "maestrosla_kafka_consumer_lag_messages").ShouldBe(0, scrape);
        Series(scrape, "maestrosla_projection_lag_events").ShouldBe(Enumerable.Repeat(0.0, LatencyRollupShards.DefaultCount + 2), scrape);
        for (var shard = 0; shard < LatencyRollupShards.DefaultCount; shard++)
        {
            scrape.ShouldContain($"projection=\"{LatencyRollupShards.NameOf(shard)}\"");
        }
        scrape.ShouldContain("projection=\"uptime_signals\"");
        scrape.ShouldContain("projection=\"ingest_gaps\"");

        // ASP.NET Core and runtime instrumentation come along.
        scrape.ShouldContain("http_server_request_duration_seconds_bucket");
        scrape.ShouldContain("dotnet_gc_collections_total");

        // Exit 1 is a scrape Prometheus cannot parse; exit 3 lists lint findings, one "<metric> <problem>" a line.
        var (exitCode, output) = await Promtool.RunAsync(["check", "metrics"], scrape);
        exitCode.ShouldBeOneOf([0, 3], $"promtool check metrics:{Environment.NewLine}{output}");
        var findings = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        findings.Where(f => !ToleratedLint.Contains(f.Split(' ')[0])).ShouldBeEmpty($"promtool lint findings:{Environment.NewLine}{output}");
    }

    /// <summary>
    /// Gauges of .NET's own System.Runtime meter whose semantic-convention names end in "_count", which promtool
    /// reserves for histograms and summaries. Renaming them would break the dashboards that query them by these
    /// names, so they are tolerated by name; any other finding, ours above all, fails the test.
    /// </summary>
    private static readonly HashSet<string> ToleratedLint = ["dotnet_assembly_count", "dotnet_process_cpu_count", "dotnet_thread_pool_thread_count", "dotnet_timer_count"];

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

    /// <summary>The sum of every series of <paramref name="metric"/> in a Prometheus text scrape (0 when absent).</summary>
    private static double Sum(string scrape, string metric) => Series(scrape, metric).Sum();

    /// <summary>The value of the only series of <paramref name="metric"/>; null when it is absent.</summary>
    private static double? Sample(string scrape, string metric)
    {
        var values = Series(scrape, metric).ToList();
        return values.Count == 1 ? values[0] : null;
    }

    private static IEnumerable<double> Series(string scrape, string metric)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            {
                // name{labels} value [timestamp], or name value [timestamp]
                var rest = line.Contains('{', StringComparison.Ordinal) ? line[(line.LastIndexOf('}') + 1)..] : line[metric.Length..];
                yield return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }
    }
}
