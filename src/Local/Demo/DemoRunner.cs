using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using MaestroSla.Contracts.Reports;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MaestroSla.Local.Demo;

/// <summary>
/// README command (a): publishes a synthetic month through Kafka, waits until ingest has stored all of it and the
/// projections have caught up, prints a per-service summary, and leaves the API serving.
/// </summary>
public sealed class DemoRunner(
    KafkaBootstrap kafka,
    IOptions<KafkaIngestOptions> kafkaOptions,
    IDocumentStore store,
    IOptions<SlaOptions> slaOptions,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    IServer server,
    IConfiguration configuration,
    ILogger<DemoRunner> logger) : BackgroundService
{
    private int _partitions = 1;
    private long _sent;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await WaitForStartAsync(stoppingToken);
        try
        {
            await RunAsync(stoppingToken);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogError(ex, "Demo failed");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var month = new SyntheticMonth(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1));
        // Demo:Days publishes only the month's first days (the executable-docs test): same month, less waiting.
        var days = Math.Clamp(configuration.GetValue("Demo:Days", month.Days), 1, month.Days);
        var topic = kafkaOptions.Value.Topic;
        await DemoMaintenance.ScheduleAsync(store, month.Start, ct);
        await DemoContract.RecordAsync(store, month.Start, ct);
        Console.WriteLine($"Publishing a synthetic month ({month.Start:yyyy-MM}) for {SyntheticMonth.Services.Length} services to {topic} on {kafka.BootstrapServers} ...");

        var delivered = new ConcurrentDictionary<int, long>();
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig(kafkaOptions.Value.ToProducerConfig(kafka.BootstrapServers))
        {
            LingerMs = 5,
            BatchNumMessages = 10_000,
            Acks = Acks.All,
        }).Build();

        using (var admin = new AdminClientBuilder(new AdminClientConfig(kafkaOptions.Value.ToProducerConfig(kafka.BootstrapServers))).Build())
        {
            _partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions.Count;
        }

        var clock = Stopwatch.StartNew();
        long published = 0;
        long publishedRequests = 0;
        for (var day = 0; day < days; day++)
        {
            // The embedded broker keeps only 5 MiB per partition and drops older data even if unread: publish a
            // quarter of a day at a time and let ingest store it before going on.
            var messages = month.Day(day, out var requests);
            publishedRequests += requests;
            foreach (var quarter in messages.Chunk((messages.Count / 4) + 1))
            {
                foreach (var message in quarter)
                {
                    Produce(producer, topic, message, delivered);
                    published++;
                }
                producer.Flush(ct);
                await WaitUntilStoredAsync(delivered, ct);
            }
            if ((day + 1) % 5 == 0 || day == days - 1)
            {
                Console.WriteLine($"  day {day + 1,2}/{days}: {published:N0} messages published and stored ({published / clock.Elapsed.TotalSeconds:N0}/s)");
            }
        }

        Console.WriteLine("Waiting for the projections to catch up ...");
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromMinutes(10));
        Console.WriteLine($"Ingested and projected in {clock.Elapsed.TotalSeconds:N1} s.");

        var storedRequests = await PrintSummaryAsync(month, ct);
        Console.WriteLine(storedRequests == publishedRequests
            ? $"Exactly-once check: {publishedRequests:N0} requests published, {storedRequests:N0} stored."
            : $"EXACTLY-ONCE CHECK FAILED: {publishedRequests:N0} requests published, {storedRequests:N0} stored.");
        if (storedRequests != publishedRequests)
        {
            Environment.ExitCode = 2;
        }
    }

    private void Produce(IProducer<Null, byte[]> producer, string topic, byte[] message, ConcurrentDictionary<int, long> delivered)
    {
        // Round robin over the partitions: librdkafka's partitioners stick to one partition per batch, which the
        // embedded broker's 5 MiB per partition cannot hold during a backfill.
        var partition = new TopicPartition(topic, (int)(_sent++ % _partitions));
        producer.ProduceWaitingForRoom(partition, new Message<Null, byte[]> { Value = message }, report =>
        {
            if (report.Error.IsError)
            {
                throw new KafkaException(report.Error);
            }
            delivered.AddOrUpdate(report.Partition.Value, report.Offset.Value, (_, seen) => Math.Max(seen, report.Offset.Value));
        });
    }

    private async Task WaitUntilStoredAsync(ConcurrentDictionary<int, long> delivered, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(ct);
            var stored = await StoredKafkaOffsets.LoadAsync(connection, store.Options.DatabaseSchemaName, kafka.GroupId, kafkaOptions.Value.Topic, ct);
            if (delivered.All(p => stored.TryGetValue(p.Key, out var position) && position.Resume > p.Value))
            {
                return;
            }
            if (deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException("Ingest did not store the published messages within 5 minutes.");
            }
            await Task.Delay(100, ct);
        }
    }

    private async Task<long> PrintSummaryAsync(SyntheticMonth month, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var services = await KnownServices.ListAsync(session, ct);
        var deadLetters = await session.Query<DeadLetter>().CountAsync(ct);

        Console.WriteLine();
        Console.WriteLine($"SLA summary {month.Start:yyyy-MM-dd} to {month.End:yyyy-MM-dd} (UTC)");
        Console.WriteLine($"{"service",-10} {"requests",12} {"errors",8} {"error %",8} {"P50 ms",8} {"P95 ms",8} {"P99 ms",8} {"uptime %",9} {"downtime",14} {"SLA",9}");
        long total = 0;
        foreach (var service in services)
        {
            var r = await SlaReportBuilder.BuildAsync(session, slaOptions.Value, service, month.Start, month.End, "UTC", asOf: null, ct);
            total += r.Requests.Total;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Service,-10} {r.Requests.Total,12:N0} {r.Requests.Errors,8:N0} {r.Requests.ErrorRatePercent,8:0.000} {r.Latency.P50Ms,8:0.0} {r.Latency.P95Ms,8:0.0} {r.Latency.P99Ms,8:0.0} {r.Uptime.UptimePercent,9:0.000} {r.DowntimeEventCount,3} ({r.Uptime.Downtime.TotalMinutes,4:0.#} min) {(r.Status == SlaStatus.Breached ? "BREACHED" : r.Status),9}"));
        }
        Console.WriteLine($"{"total",-10} {total,12:N0}   dead letters: {deadLetters}");
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault() ?? "http://localhost:5000";
        Console.WriteLine();
        Console.WriteLine($"API serving on {string.Join(", ", addresses)} — e.g.");
        Console.WriteLine($"  curl '{address}/api/reports/{(services.Count > 0 ? services[0] : "checkout")}?month={month.Start:yyyy-MM}&tz=Europe/Berlin'");
        Console.WriteLine($"  curl '{address}/api/status?month={month.Start:yyyy-MM}'");
        DemoHints.Print(month.Start, time.GetUtcNow());
        Console.WriteLine("Press Ctrl+C to stop.");
        return total;
    }

    private Task WaitForStartAsync(CancellationToken ct)
    {
        var started = new TaskCompletionSource();
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task.WaitAsync(ct);
    }
}
