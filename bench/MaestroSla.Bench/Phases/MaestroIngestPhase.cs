using System.Diagnostics;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MaestroSla.Bench.Phases;

/// <summary>
/// N request metrics through one <see cref="TelemetryConsumer"/>, built exactly as the ingest host builds it (see
/// IngestHarness), into the MaestroSla schema: per-minute HDR windows, one transaction per flush with the offsets.
/// </summary>
internal static class MaestroIngestPhase
{
    public const string Topic = "maestro.telemetry";
    private const string Group = "maestrosla-bench";

    public static async Task<IngestOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, ILoggerFactory logs, CancellationToken ct)
    {
        await environment.LoadGenerator.CreateTopicAsync(Topic, ct);
        var connectionString = await environment.CreateDatabaseAsync("maestrosla_bench");
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var progress = new IngestProgress();
        using var consumer = CreateConsumer(options, environment, store, Topic, Group, progress, logs);
        var join = Stopwatch.StartNew();
        await consumer.StartAsync(ct);
        await WaitForAssignmentAsync(progress, options.Partitions, ct);
        join.Stop();
        Console.WriteLine($"  consumer joined group in {join.Elapsed.TotalSeconds:0.0} s; producing {options.Messages:N0} messages");

        var partitions = new PartitionProgress(options.Partitions);
        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var following = partitions.FollowStoredOffsetsAsync(
            connectionString, MaestroStore.Schema, Group, Topic, TimeSpan.FromMilliseconds(20), stopFollowing.Token);

        var meter = new PhaseMeter(environment.Participants);
        await meter.StartAsync();
        var producing = environment.LoadGenerator.ProduceAsync(
            Topic, 0, options.Messages, options.Messages, trafficEnd, options.LeadMiBPerPartition * 1024 * 1024,
            () => partitions.Slowest, ct);
        var (problem, firstTenth) = await PhaseProgress.WaitAsync(
            "maestrosla", options.Messages, () => progress.StoredRequests, partitions, meter, producing, consumer.ExecuteTask!,
            TimeSpan.FromMinutes(options.TimeoutMinutes));
        var cost = await meter.StopAsync();
        await stopFollowing.CancelAsync();
        await following;
        var flushes = progress.StoredBatches;

        await consumer.StopAsync(CancellationToken.None);
        var produced = await producing;

        var problems = new List<string>();
        if (problem is not null)
        {
            problems.Add(problem);
        }
        var stored = await VerifyAsync(connectionString, Topic, Group, options.Partitions, options.Messages, produced, problems, ct);
        return new IngestOutcome("MaestroSla TelemetryConsumer", options.Messages, stored.Requests, stored.Errors, produced.ErrorRequests,
            stored.Events, stored.TableBytes, flushes, stored.OffsetsComplete, join.Elapsed, produced, cost, firstTenth, problems);
    }

    /// <summary>A TelemetryConsumer built exactly as the ingest host builds it (see IngestHarness), with the run's settings.</summary>
    public static TelemetryConsumer CreateConsumer(
        BenchOptions options, BenchEnvironment environment, DocumentStore store, string topic, string group,
        IngestProgress progress, ILoggerFactory logs)
    {
        var consumerOptions = Options.Create(new KafkaIngestOptions
        {
            BootstrapServers = environment.LoadGenerator.BootstrapServers,
            Topic = topic,
            GroupId = group,
            FlushInterval = TimeSpan.FromMilliseconds(options.FlushIntervalMs),
            MaxBatchMessages = options.MaxBatchMessages,
            Client = options.ConsumerClientSettings(),
        });
        return new TelemetryConsumer(
            consumerOptions,
            new KafkaBootstrap(consumerOptions, logs.CreateLogger<KafkaBootstrap>()),
            new TelemetryDecoder(new ContractLimits(), TimeProvider.System),
            store,
            new IngestBatchWriter(store),
            progress,
            TimeProvider.System,
            logs.CreateLogger<TelemetryConsumer>());
    }

    public static async Task WaitForAssignmentAsync(IngestProgress progress, int partitions, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (progress.AssignedPartitions.Count < partitions)
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException("TelemetryConsumer was not assigned all partitions within 2 minutes");
            }
            await Task.Delay(5, ct);
        }
    }

    /// <summary>Checks the database against what was produced: request and error totals, and every partition's stored offset.</summary>
    public static async Task<(long Events, long Requests, long Errors, long TableBytes, bool OffsetsComplete)> VerifyAsync(
        string connectionString, string topic, string group, int partitions, long messages, ProduceReport produced,
        List<string> problems, CancellationToken ct)
    {
        if (produced.Undelivered > 0)
        {
            problems.Add($"{produced.Undelivered} messages were still undelivered when the producer gave up flushing");
        }

        // The figures come from the database, not from the consumer's counters.
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        var (events, requests, errors, tableBytes) = await StoredTotalsAsync(connection);
        if (requests != messages)
        {
            problems.Add($"stored requests {requests:N0} != produced {messages:N0}");
        }
        if (errors != produced.ErrorRequests)
        {
            problems.Add($"stored errors {errors:N0} != produced {produced.ErrorRequests:N0}");
        }
        var offsets = await StoredKafkaOffsets.LoadAsync(connection, MaestroStore.Schema, group, topic, ct);
        var offsetsComplete = true;
        for (var p = 0; p < partitions; p++)
        {
            var expected = (messages / partitions) + (p < messages % partitions ? 1 : 0);
            if (offsets.GetValueOrDefault(p).Resume != expected)
            {
                offsetsComplete = false;
                problems.Add($"partition {p}: stored offset {offsets.GetValueOrDefault(p).Resume} != produced {expected}");
            }
        }
        return (events, requests, errors, tableBytes, offsetsComplete);
    }

    private static async Task<(long Events, long Requests, long Errors, long TableBytes)> StoredTotalsAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            $"""
            select (select count(*) from {MaestroStore.Schema}.mt_events),
                   coalesce(sum((m->>'Requests')::bigint), 0)::bigint,
                   coalesce(sum((m->>'Errors')::bigint), 0)::bigint,
                   pg_total_relation_size('{MaestroStore.Schema}.mt_events')
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }
}
