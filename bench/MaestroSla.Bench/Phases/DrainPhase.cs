using MaestroSla.Api.Store;
using MaestroSla.Bench.Measuring;
using MaestroSla.Ingest.Kafka;
using Marten;
using Microsoft.Extensions.Logging;

namespace MaestroSla.Bench.Phases;

/// <summary>
/// What one TelemetryConsumer does with a core to itself: the backlog is produced first (as much as the mock broker
/// keeps, 4 MiB per partition), then a consumer joins and drains it while the load generator sits idle. The clock
/// starts when the consumer has its partitions (so the ~3 s group join is left out) and stops when the database holds
/// every request.
/// </summary>
internal static class DrainPhase
{
    private const string Topic = "drain.telemetry";
    private const string Group = "maestrosla-drain";

    public static async Task<IngestOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, double averageBytes, ILoggerFactory logs,
        CancellationToken ct, string suffix = "")
    {
        // A suffix keeps a second drain (another traffic shape) apart: its own topic, group and database.
        var topic = Topic + suffix;
        var group = Group + suffix;
        var fits = (long)(options.DrainPartitions * 4.0 * 1024 * 1024 / (averageBytes + 20));
        var count = Math.Min(options.DrainMessages, fits);
        if (count < options.DrainMessages)
        {
            Console.WriteLine($"  the mock broker keeps ~5 MiB per partition: draining {count:N0} messages, not {options.DrainMessages:N0}");
        }

        await environment.LoadGenerator.CreateTopicAsync(topic, ct, options.DrainPartitions);
        // Timestamps are spread over the traffic's count: a drain longer than the main run must not run into the future.
        var produced = await environment.LoadGenerator.ProduceAsync(
            topic, 0, count, Math.Max(count, options.Messages), trafficEnd, 1e12, () => 0, ct, options);
        Console.WriteLine($"  backlog of {count:N0} messages produced in {produced.Elapsed.TotalSeconds:0.0} s; starting the consumer");

        var connectionString = await environment.CreateDatabaseAsync("drain_bench" + suffix);
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var progress = new IngestProgress();
        using var consumer = MaestroIngestPhase.CreateConsumer(options, environment, store, topic, group, progress, logs);
        var meter = new PhaseMeter(environment.Participants);
        await consumer.StartAsync(ct);
        await MaestroIngestPhase.WaitForAssignmentAsync(progress, options.DrainPartitions, ct);
        await meter.StartAsync();

        var partitions = new PartitionProgress(options.DrainPartitions);
        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var following = partitions.FollowStoredOffsetsAsync(
            connectionString, MaestroStore.Schema, group, topic, TimeSpan.FromMilliseconds(20), stopFollowing.Token);
        var (problem, firstTenth) = await PhaseProgress.WaitAsync(
            "drain", count, () => progress.StoredRequests, partitions, meter, Task.CompletedTask, consumer.ExecuteTask!,
            TimeSpan.FromMinutes(options.TimeoutMinutes));
        var cost = await meter.StopAsync();
        await stopFollowing.CancelAsync();
        await following;
        var flushes = progress.StoredBatches;
        await consumer.StopAsync(CancellationToken.None);

        var problems = new List<string>();
        if (problem is not null)
        {
            problems.Add(problem);
        }
        var stored = await MaestroIngestPhase.VerifyAsync(connectionString, topic, group, options.DrainPartitions, count, produced, problems, ct);
        return new IngestOutcome("drain: TelemetryConsumer alone", count, stored.Requests, stored.Errors, produced.ErrorRequests,
            stored.Events, stored.TableBytes, flushes, stored.OffsetsComplete, TimeSpan.Zero, produced, cost, firstTenth, problems);
    }
}
