using System.Diagnostics;
using Confluent.Kafka;
using JasperFx;
using JasperFx.Events;
using MaestroSla.Bench.Measuring;
using MaestroSla.Contracts.Messages;
using Marten;
using Npgsql;
using Weasel.Core;

namespace MaestroSla.Bench.Phases;

/// <summary>The naive design's event: one per request, as the request came.</summary>
internal sealed record RequestObserved(
    string Service, string Endpoint, long LatencyMicros, int? StatusCode, bool IsError, DateTimeOffset Timestamp);

/// <summary>
/// The baseline: the design commonly seen first. A plain Confluent.Kafka consumer decodes each message with the same
/// <see cref="TelemetryDecoder"/> and appends ONE Marten event per request to the service's stream; it saves what one
/// poll drained (up to <see cref="BenchOptions.NaiveBatch"/> messages) with one SaveChanges, then commits the Kafka
/// offsets (at least once: a crash between the two re-appends the batch). Same store settings as MaestroSla (string
/// stream keys, quick appends), its own database.
/// </summary>
internal static class NaiveIngestPhase
{
    public const string Topic = "naive.telemetry";
    private const string Schema = "naive";

    public static async Task<IngestOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, CancellationToken ct)
    {
        var count = options.NaiveMessages;
        await environment.LoadGenerator.CreateTopicAsync(Topic, ct);
        var connectionString = await environment.CreateDatabaseAsync("naive_bench");
        await using var store = DocumentStore.For(o =>
        {
            o.Connection(connectionString);
            o.DatabaseSchemaName = Schema;
            o.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
            o.UseSystemTextJsonForSerialization(EnumStorage.AsString);
            o.Events.StreamIdentity = StreamIdentity.AsString;
            o.Events.AppendMode = EventAppendMode.Quick;
            o.Events.MapEventType<RequestObserved>("request_observed");
        });
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        long saved = 0;
        var partitions = new PartitionProgress(options.Partitions);
        var assigned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var join = Stopwatch.StartNew();
        var consuming = Task.Run(() => ConsumeAsync(
            options, environment.LoadGenerator.BootstrapServers, store, options.NaiveBatch, assigned, partitions, count => Interlocked.Add(ref saved, count), stop.Token), ct);
        await assigned.Task.WaitAsync(TimeSpan.FromMinutes(2), ct);
        join.Stop();
        Console.WriteLine($"  naive consumer joined group in {join.Elapsed.TotalSeconds:0.0} s; producing {count:N0} messages (a prefix of the same traffic)");

        var meter = new PhaseMeter(environment.Participants);
        await meter.StartAsync();
        var producing = environment.LoadGenerator.ProduceAsync(
            Topic, 0, count, options.Messages, trafficEnd, options.LeadMiBPerPartition * 1024 * 1024,
            () => partitions.Slowest, ct);
        var (problem, firstTenth) = await PhaseProgress.WaitAsync(
            "naive", count, () => Interlocked.Read(ref saved), partitions, meter, producing, consuming, TimeSpan.FromMinutes(options.TimeoutMinutes));
        var cost = await meter.StopAsync();
        await stop.CancelAsync();
        var flushes = await consuming;
        var produced = await producing;

        var problems = new List<string>();
        if (problem is not null)
        {
            problems.Add(problem);
        }
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select count(*), count(*) filter (where (data->>'IsError')::boolean), pg_total_relation_size('{Schema}.mt_events')
            from {Schema}.mt_events
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (events, errors, tableBytes) = (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        if (events != count)
        {
            problems.Add($"naive: stored events {events:N0} != produced {count:N0}");
        }
        if (errors != produced.ErrorRequests)
        {
            problems.Add($"naive: stored errors {errors:N0} != produced {produced.ErrorRequests:N0}");
        }
        return new IngestOutcome("naive: 1 event/request", count, events, errors, produced.ErrorRequests, events, tableBytes,
            flushes, events == count, join.Elapsed, produced, cost, firstTenth, problems);
    }

    /// <summary>The naive consumer loop; returns how many SaveChanges it made.</summary>
    private static async Task<long> ConsumeAsync(
        BenchOptions options, string bootstrapServers, DocumentStore store, int batch, TaskCompletionSource assigned,
        PartitionProgress partitions, Action<long> onSaved, CancellationToken ct)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig(options.ConsumerClientSettings())
        {
            BootstrapServers = bootstrapServers,
            GroupId = "naive-bench",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            // The same fetch back-off as TelemetryConsumer, so that the comparison is about the design alone.
            FetchQueueBackoffMs = 10,
        })
            .SetPartitionsAssignedHandler((_, _) => assigned.TrySetResult())
            .Build();
        consumer.Subscribe(Topic);
        var decoder = new TelemetryDecoder(new ContractLimits(), TimeProvider.System);
        long saves = 0;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await using var session = store.LightweightSession();
                var pending = 0;
                var read = new Dictionary<int, long>();
                while (pending < batch && consumer.Consume(pending == 0 ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero) is { } result)
                {
                    var decoded = decoder.Decode(result.Message.Value);
                    if (decoded.IsValid && decoded.Kind == MessageKind.Request)
                    {
                        var request = decoded.Request;
                        session.Events.Append(request.Service, new RequestObserved(
                            request.Service, request.Endpoint, request.LatencyMicros, request.StatusCode, request.IsError, request.Timestamp));
                    }
                    read[result.Partition.Value] = result.Offset.Value + 1;
                    pending++;
                }
                if (pending == 0)
                {
                    continue;
                }
                await session.SaveChangesAsync(ct);
                consumer.Commit();
                saves++;
                foreach (var (partition, next) in read)
                {
                    partitions.Stored(partition, next);
                }
                onSaved(pending);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        consumer.Close();
        return saves;
    }
}
