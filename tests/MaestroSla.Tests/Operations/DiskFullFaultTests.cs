using System.Diagnostics;
using System.Net;
using System.Text;
using Confluent.Kafka;
using MaestroSla.Local.Postgres;
using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Npgsql;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Operations;

/// <summary>
/// PostgreSQL's data runs out of disk while ingest runs, and the disk is grown again: the pipeline loses and
/// duplicates nothing, dead-letters nothing valid, says so on /health and /metrics within seconds, and recovers
/// by itself.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class DiskFullFaultTests(ServicesFixture services, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task when_postgresqls_disk_fills_during_ingest_health_and_metrics_say_so_and_everything_is_stored_once_space_returns()
    {
        // The database lives in a tablespace on a 64 MiB tmpfs; the cluster's own folder (and its WAL) stays on the
        // regular disk. That is the data volume filling, as in production, rather than the WAL volume, after which
        // PostgreSQL stops altogether (PANIC) and no client could do anything but wait for a restart.
        await using var disk = await SmallFilesystem.MountAsync(64);
        var cluster = Directory.CreateTempSubdirectory("maestrosla-fault-pg-");
        try
        {
            await using var postgres = await EmbeddedPostgres.StartAsync(cluster.FullName, new EmbeddedPostgresOptions { Durable = false });
            var tablespace = await disk.FolderForAsync("tablespace", "postgres");
            var connectionString = await CreateDatabaseOnAsync(postgres.ConnectionString, tablespace);

            var topic = services.CreateTopic(partitions: 4);
            var settings = new Dictionary<string, string?>
            {
                ["Kafka:ConsumerEnabled"] = "true",
                ["Kafka:BootstrapServers"] = services.Kafka.BootstrapServers,
                ["Kafka:Topic"] = topic,
                ["Kafka:GroupId"] = $"group-{Guid.NewGuid():N}",
                ["Kafka:FlushInterval"] = "00:00:00.100",
                ["Kafka:MaxBatchMessages"] = "2000",
                ["Kafka:Client:session.timeout.ms"] = "6000",
                ["Kafka:Client:heartbeat.interval.ms"] = "500",
                ["Operations:SampleInterval"] = "00:00:01",
            };
            await using var app = await RunningApp.StartAsync(connectionString, settings);
            await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));

            var now = DateTimeOffset.UtcNow;
            var before = TestTraffic.Requests(2_000, now, seed: 181);
            Produce(topic, 4, before.Messages);
            (await WaitForStoredRequestsAsync(store, before.TotalRequests)).ShouldBe(before.TotalRequests);
            (await HealthReply.WaitAsync(app.Client, "/health", r => r.Components["ingest"].Status == "Healthy" && r.Components["ingest"].Description!.Contains("stored"), Patience))
                .Components["ingest"].Status.ShouldBe("Healthy");

            var ballast = disk.Fill();
            output.WriteLine($"filled the filesystem with a {ballast / (1 << 20)} MiB ballast file");
            var during = TestTraffic.Requests(6_000, now, seed: 182);
            string[] invalid = ["{\"v\":1,\"type\":\"request\",\"service\":\"\"}", "not json"];
            var clock = Stopwatch.StartNew();
            Produce(topic, 4, [.. during.Messages, .. invalid.Select(Encoding.UTF8.GetBytes)]);

            // Degraded, naming PostgreSQL's error, within seconds.
            var degraded = await HealthReply.WaitAsync(app.Client, "/health", r => r.Components["ingest"].Status != "Healthy", Patience);
            var noticedAfter = clock.Elapsed;
            output.WriteLine($"/health said {degraded.Components["ingest"].Status} after {noticedAfter.TotalSeconds:0.0} s: {degraded.Components["ingest"].Description}");
            degraded.Components["ingest"].Status.ShouldBe("Degraded", degraded.Body);
            degraded.Components["ingest"].Description!.ShouldContain("PostgreSQL 53100");
            degraded.Components["ingest"].Description!.ShouldContain("No space left on device");
            degraded.Components["ingest"].Description!.ShouldNotContain("Password", Case.Insensitive);
            noticedAfter.ShouldBeLessThan(TimeSpan.FromSeconds(15));
            degraded.Status.ShouldNotBe("Healthy");

            // The failures are counted under PostgreSQL's class 53 (insufficient resources), and keep rising.
            var first = await ScrapeUntilAsync(app.Client, s => PrometheusText.Sum(s, "maestrosla_ingest_batch_failures_total", "reason=\"postgres_53\"") >= 3);
            var failures = PrometheusText.Sum(first, "maestrosla_ingest_batch_failures_total", "reason=\"postgres_53\"");
            failures.ShouldBeGreaterThanOrEqualTo(3, first);
            var later = await ScrapeUntilAsync(app.Client, s => PrometheusText.Sum(s, "maestrosla_ingest_batch_failures_total", "reason=\"postgres_53\"") > failures);
            PrometheusText.Sum(later, "maestrosla_ingest_batch_failures_total", "reason=\"postgres_53\"").ShouldBeGreaterThan(failures);
            PrometheusText.Sum(later, "maestrosla_ingest_consecutive_batch_failures").ShouldBeGreaterThanOrEqualTo(3);

            // Reports are still served from what is stored: readiness stays about serving.
            var ready = await HealthReply.GetAsync(app.Client, "/ready");
            ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
            (await app.Client.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await StoredRequestsAsync(store)).ShouldBe(before.TotalRequests, "nothing of a failed batch may be stored");

            await disk.GrowAsync(256);
            clock.Restart();

            var expected = before.TotalRequests + during.TotalRequests;
            (await WaitForStoredRequestsAsync(store, expected)).ShouldBe(expected, "every request stored once: none lost, none twice");
            output.WriteLine($"everything stored {clock.Elapsed.TotalSeconds:0.0} s after the disk was grown");
            var healthy = await HealthReply.WaitAsync(app.Client, "/health", r => r.Status == "Healthy", Patience);
            output.WriteLine($"/health Healthy {clock.Elapsed.TotalSeconds:0.0} s after the disk was grown");
            healthy.Status.ShouldBe("Healthy", healthy.Body);
            healthy.Components["ingest"].Description!.ShouldContain("batch(es) stored");

            await using var session = store.QuerySession();
            var deadLetters = await session.Query<DeadLetter>().ToListAsync();
            deadLetters.Count.ShouldBe(invalid.Length, "only the invalid messages are dead letters");
            (await StoredRequestsAsync(store)).ShouldBe(expected);
            var after = await app.Client.GetStringAsync("/metrics");
            PrometheusText.Sum(after, "maestrosla_ingest_consecutive_batch_failures").ShouldBe(0);
            PrometheusText.Sum(after, "maestrosla_ingest_last_stored_batch_timestamp_seconds").ShouldBeGreaterThan(DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds());
        }
        finally
        {
            cluster.Delete(recursive: true);
        }
    }

    private static async Task<string> CreateDatabaseOnAsync(string adminConnectionString, string folder)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand($"create tablespace small location '{folder}'", connection))
        {
            await command.ExecuteNonQueryAsync();
        }
        await using (var command = new NpgsqlCommand("create database fault tablespace small", connection))
        {
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = "fault" }.ConnectionString;
    }

    private void Produce(string topic, int partitions, IEnumerable<byte[]> messages)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = services.Kafka.BootstrapServers, LingerMs = 5 }).Build();
        var sent = 0;
        var failed = 0;
        foreach (var message in messages)
        {
            producer.Produce(new TopicPartition(topic, sent++ % partitions), new Message<Null, byte[]> { Value = message }, report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref failed);
                }
            });
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        failed.ShouldBe(0, "every message reaches the broker");
    }

    private static async Task<long> StoredRequestsAsync(IDocumentStore store)
    {
        await using var session = store.QuerySession();
        var events = await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync();
        return events.Sum(e => e.Minutes.Sum(m => (long)m.Requests));
    }

    private static async Task<long> WaitForStoredRequestsAsync(IDocumentStore store, long atLeast)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var stored = await StoredRequestsAsync(store);
            if (stored >= atLeast || DateTime.UtcNow > deadline)
            {
                return stored;
            }
            await Task.Delay(200);
        }
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
