using System.Diagnostics;
using System.Globalization;
using System.Text;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace MaestroSla.Bench.Phases;

/// <summary>What the OTLP phase measured, and whether the database holds exactly what was produced.</summary>
internal sealed record OtlpOutcome(
    OtlpProduceReport Produced, long RequestsStored, long ErrorsStored, long Events, long Flushes, PhaseCost Cost, TimeSpan FirstTenth,
    IReadOnlyList<string> Problems)
{
    public double SpansPerSecond => Produced.Spans / Cost.Wall.TotalSeconds;

    public double ServerSpansPerSecond => Produced.ServerSpans / Cost.Wall.TotalSeconds;

    public bool Verified => Problems.Count == 0;
}

/// <summary>
/// OTLP end to end: trace exports in protobuf, as the Collector's Kafka exporter writes them, produced into the mock
/// broker while one <see cref="OtlpTraceConsumer"/> (built as the ingest host builds it) stores them into durable
/// PostgreSQL. The clock runs from the first message produced to the last stored; spans/s counts every span read.
/// </summary>
internal static class OtlpPhase
{
    private const string Topic = "otlp_spans";
    private const string Group = "maestrosla-otlp-bench";

    public static async Task<OtlpOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, ILoggerFactory logs, CancellationToken ct)
    {
        var exports = (options.OtlpSpans + options.OtlpSpansPerExport - 1) / options.OtlpSpansPerExport;
        await environment.LoadGenerator.CreateTopicAsync(Topic, ct, options.OtlpPartitions);
        var connectionString = await environment.CreateDatabaseAsync("otlp_bench");
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        var settings = Options.Create(new KafkaIngestOptions
        {
            BootstrapServers = environment.LoadGenerator.BootstrapServers,
            Topic = Topic + ".json",
            OtlpTopic = Topic,
            GroupId = Group,
            FlushInterval = TimeSpan.FromMilliseconds(options.FlushIntervalMs),
            MaxBatchMessages = options.MaxBatchMessages,
            Client = options.ConsumerClientSettings(),
        });
        var progress = new IngestProgress();
        using var consumer = new OtlpTraceConsumer(
            settings,
            new KafkaBootstrap(settings, logs.CreateLogger<KafkaBootstrap>()),
            new OtlpSpanDecoder(new ContractLimits(), TimeProvider.System),
            store,
            new IngestBatchWriter(store),
            progress,
            TimeProvider.System,
            logs.CreateLogger<OtlpTraceConsumer>());
        var join = Stopwatch.StartNew();
        await consumer.StartAsync(ct);
        await MaestroIngestPhase.WaitForAssignmentAsync(progress, options.OtlpPartitions, ct);
        Console.WriteLine($"  consumer joined group in {join.Elapsed.TotalSeconds:0.0} s; producing {exports:N0} exports of {options.OtlpSpansPerExport} spans");

        var group = OtlpTraceConsumer.GroupOf(Group);
        var partitions = new PartitionProgress(options.OtlpPartitions);
        using var stopFollowing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var following = partitions.FollowStoredOffsetsAsync(
            connectionString, MaestroStore.Schema, group, Topic, TimeSpan.FromMilliseconds(20), stopFollowing.Token);

        var meter = new PhaseMeter(environment.Participants);
        await meter.StartAsync();
        // Spans of the minute before trafficEnd: minutes that have ended, stored as they come (none held open).
        var producing = environment.LoadGenerator.ProduceOtlpAsync(
            Topic, exports, options.OtlpSpansPerExport, options.OtlpSeries, trafficEnd, TimeSpan.FromMinutes(1),
            options.LeadMiBPerPartition * 1024 * 1024, () => partitions.Slowest, ct);
        var (problem, firstTenth) = await PhaseProgress.WaitAsync(
            "otlp exports", exports, () => progress.StoredMessages, partitions, meter, producing, consumer.ExecuteTask!,
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
        if (produced.Undelivered > 0)
        {
            problems.Add($"{produced.Undelivered} exports were still undelivered when the producer gave up flushing");
        }
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        var (events, requests, errors) = await StoredTotalsAsync(connection);
        if (requests != produced.ServerSpans)
        {
            problems.Add($"stored requests {requests:N0} != produced SERVER spans {produced.ServerSpans:N0}");
        }
        if (errors != produced.ErrorSpans)
        {
            problems.Add($"stored errors {errors:N0} != produced 5xx SERVER spans {produced.ErrorSpans:N0}");
        }
        var offsets = await StoredKafkaOffsets.LoadAsync(connection, MaestroStore.Schema, group, Topic, ct);
        for (var p = 0; p < options.OtlpPartitions; p++)
        {
            var expected = (exports / options.OtlpPartitions) + (p < exports % options.OtlpPartitions ? 1 : 0);
            if (offsets.GetValueOrDefault(p).Resume != expected)
            {
                problems.Add($"partition {p}: stored offset {offsets.GetValueOrDefault(p).Resume} != produced {expected}");
            }
        }
        var outcome = new OtlpOutcome(produced, requests, errors, events, flushes, cost, firstTenth, problems);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {outcome.SpansPerSecond:N0} spans/s ({outcome.ServerSpansPerSecond:N0} SERVER spans/s) over {cost.Wall.TotalSeconds:0.0} s on {ProcStats.CpuModel()}"));
        return outcome;
    }

    public static string Render(BenchOptions options, OtlpOutcome outcome)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        var cost = outcome.Cost;
        Line($"## OTLP from Kafka, end to end");
        text.AppendLine();
        Line($"- machine: {Report.Machine()}; the load generator (mock broker + producer), the consumer and PostgreSQL (durable) share the cores");
        Line($"- {outcome.Produced.Exports:N0} exports × {options.OtlpSpansPerExport} spans ({outcome.Produced.AverageBytes / 1024:0.0} KiB each, otlp_proto) = {outcome.Produced.Spans:N0} spans, {outcome.Produced.ServerSpans:N0} of them SERVER, {options.OtlpSeries:N0} series, {options.OtlpPartitions} partitions round robin; one OtlpTraceConsumer (FlushInterval {options.FlushIntervalMs} ms)");
        text.AppendLine();
        Line($"| | |");
        Line($"| --- | --- |");
        Line($"| spans/s, first produce → all stored | **{outcome.SpansPerSecond:N0}** |");
        Line($"| SERVER spans (requests) stored/s | {outcome.ServerSpansPerSecond:N0} |");
        Line($"| spans/s after the first 10 % | {0.9 * outcome.Produced.Spans / (cost.Wall - outcome.FirstTenth).TotalSeconds:N0} |");
        Line($"| wall time | {cost.Wall.TotalSeconds:0.0} s |");
        Line($"| producer waited for the consumer (lead ≤ {options.LeadMiBPerPartition} MiB/partition) | {outcome.Produced.PacedWait.TotalSeconds:0.0} s |");
        Line($"| batches stored / events written | {outcome.Flushes:N0} / {outcome.Events:N0} |");
        Line($"| CPU: consumer / load generator / PostgreSQL / other processes (cores) | {cost.Cores(cost.BenchCpuSeconds):0.00} / {cost.Cores(cost.LoadGeneratorCpuSeconds):0.00} / {cost.Cores(cost.PostgresCpuSeconds):0.00} / {cost.Cores(cost.OtherCpuSeconds):0.00} |");
        Line($"| consumer CPU per span | {cost.BenchCpuSeconds * 1e6 / outcome.Produced.Spans:0.00} µs |");
        Line($"| consumer peak RSS / largest GC heap | {cost.BenchPeakRssBytes / (1024.0 * 1024):0} MiB / {cost.MaxGcHeapBytes / (1024.0 * 1024):0} MiB |");
        Line($"| stored = produced (requests {outcome.RequestsStored:N0}, errors {outcome.ErrorsStored:N0}, every offset) | {(outcome.Verified ? "yes" : "NO: " + string.Join("; ", outcome.Problems))} |");
        return text.ToString();
    }

    private static async Task<(long Events, long Requests, long Errors)> StoredTotalsAsync(NpgsqlConnection connection)
    {
        await using var command = new NpgsqlCommand(
            $"""
            select (select count(*) from {MaestroStore.Schema}.mt_events),
                   coalesce(sum((m->>'Requests')::bigint), 0)::bigint,
                   coalesce(sum((m->>'Errors')::bigint), 0)::bigint
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded'
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}
