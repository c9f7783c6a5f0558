using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using JasperFx.Events.Projections;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Operations;

/// <summary>What the last look at Kafka found; <c>ConsumerLag</c> is null when this process does not consume.</summary>
public sealed record KafkaSample(
    DateTimeOffset At, TimeSpan Took, string? Error, int Brokers, int Partitions, long? ConsumerLag, string? LagError);

/// <summary>
/// How many events each async projection is behind Marten's high-water mark, and the shards whose progression row
/// says they are paused or stopped (whichever process runs the daemon), with the reason recorded there.
/// </summary>
public sealed record ProjectionSample(
    DateTimeOffset At, IReadOnlyDictionary<string, long> EventsBehind, string? Error, IReadOnlyDictionary<string, string>? Halted = null);

/// <summary>
/// Samples Kafka (metadata, high watermarks against the offsets stored with the events) and projection progress
/// on a timer. Readiness probes and Prometheus scrapes read the latest sample: probes stay cheap however often
/// they come, a scrape never waits on a broker, and Kafka sees one metadata request per interval per process.
/// </summary>
public sealed class OperationsSampler(
    IOptions<OperationsOptions> options,
    IOptions<KafkaIngestOptions> kafkaOptions,
    IServiceProvider services,
    IDocumentStore store,
    TimeProvider time,
    ILogger<OperationsSampler> logger) : BackgroundService
{
    private const string HighWaterMark = "HighWaterMark";

    private readonly OperationsOptions _options = options.Value;
    private readonly KafkaIngestOptions _kafka = kafkaOptions.Value;
    private volatile KafkaSample? _kafkaSample;
    private volatile ProjectionSample? _projectionSample;
    private volatile RecordsSample? _recordsSample;

    // Per shard, the sequence of the last sample and since when it has not moved (only the sampling loop touches it).
    private readonly Dictionary<string, (long Sequence, DateTimeOffset Since)> _unmovedSince = new(StringComparer.Ordinal);

    /// <summary>When this process began to sample: "no backup yet" counts from here.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    /// <summary>Null until the first sample, or when this process talks to no Kafka.</summary>
    public KafkaSample? Kafka => _kafkaSample;

    public ProjectionSample? Projections => _projectionSample;

    /// <summary>Backup runs and active SLA alerts as stored; null until the first sample.</summary>
    public RecordsSample? Records => _recordsSample;

    /// <summary>
    /// Whether this process talks to Kafka at all: it consumes, or a cluster is configured. A process with
    /// neither would start the embedded mock cluster just to probe it.
    /// </summary>
    public static bool UsesKafka(KafkaIngestOptions kafka) => kafka.ConsumerEnabled || !string.IsNullOrWhiteSpace(kafka.BootstrapServers);

    /// <summary>A sample older than this means the sampler itself is stuck: report that rather than old news.</summary>
    public TimeSpan MaxSampleAge => (3 * _options.SampleInterval) + (2 * _options.DependencyTimeout);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Resolved here, not injected: KafkaBootstrap starts the embedded cluster when none is configured, which
        // only a process that uses Kafka should do.
        var bootstrap = UsesKafka(_kafka) ? services.GetRequiredService<KafkaBootstrap>() : null;
        IAdminClient? admin = null;
        try
        {
            using var timer = new PeriodicTimer(_options.SampleInterval, time);
            do
            {
                if (bootstrap is not null)
                {
                    (admin, _kafkaSample) = await SampleKafkaAsync(admin, bootstrap, stoppingToken);
                }
                _projectionSample = await SampleProjectionsAsync(stoppingToken);
                _recordsSample = await RecordsSample.LoadAsync(store, time, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            admin?.Dispose();
        }
    }

    private IAdminClient BuildAdmin(KafkaBootstrap bootstrap)
    {
        // The same client settings as ingest, so SASL/TLS apply here too; consumer-only keys are ignored by
        // librdkafka with a warning.
        var config = new AdminClientConfig(new Dictionary<string, string>(_kafka.Client))
        {
            BootstrapServers = bootstrap.BootstrapServers,
            ClientId = "maestrosla-operations",
            SocketTimeoutMs = (int)_options.DependencyTimeout.TotalMilliseconds,
        };
        // An unreachable broker makes librdkafka log every reconnect; the health report says it once.
        return new AdminClientBuilder(config)
            .SetLogHandler((_, message) => logger.LogDebug("librdkafka {Facility}: {Message}", message.Facility, message.Message))
            .SetErrorHandler((_, error) => logger.LogDebug("Kafka admin client: {Reason}", error.Reason))
            .Build();
    }

    /// <summary>Never throws: whatever fails is what the sample reports. Returns the admin client to keep using.</summary>
    private async Task<(IAdminClient? Admin, KafkaSample Sample)> SampleKafkaAsync(IAdminClient? admin, KafkaBootstrap bootstrap, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        var at = time.GetUtcNow();
        List<TopicPartition> partitions;
        int brokers;
        try
        {
            // Built on first use, so that bad client settings show in the report instead of stopping the host.
            admin ??= BuildAdmin(bootstrap);
            // Metadata for all topics: asking for one topic by name can auto-create it on brokers that allow that.
            var metadata = await Task.Run(() => admin.GetMetadata(_options.DependencyTimeout), ct);
            brokers = metadata.Brokers.Count;
            var topic = metadata.Topics.Find(t => t.Topic == _kafka.Topic);
            if (topic is null || topic.Error.IsError)
            {
                var reason = topic is null ? "does not exist" : topic.Error.Reason;
                return (admin, new KafkaSample(at, started.Elapsed, $"reachable ({brokers} broker(s)) but topic {_kafka.Topic} {reason}", brokers, 0, null, null));
            }
            partitions = topic.Partitions.ConvertAll(p => new TopicPartition(_kafka.Topic, p.PartitionId));
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            var reason = ex is KafkaException kafka ? kafka.Error.Reason : ex.Message;
            return (admin, new KafkaSample(at, started.Elapsed, $"unreachable at {bootstrap.BootstrapServers}: {reason}", 0, 0, null, null));
        }

        if (!_kafka.ConsumerEnabled)
        {
            return (admin, new KafkaSample(at, started.Elapsed, null, brokers, partitions.Count, null, null));
        }

        try
        {
            var lag = await ConsumerLagAsync(admin, bootstrap.GroupId, partitions, ct);
            return (admin, new KafkaSample(at, started.Elapsed, null, brokers, partitions.Count, lag, null));
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Kafka answered metadata but not offsets, or PostgreSQL did not answer: the lag is unknown.
            return (admin, new KafkaSample(at, started.Elapsed, null, brokers, partitions.Count, null, ex.Message));
        }
    }

    private async Task<long> ConsumerLagAsync(IAdminClient admin, string groupId, List<TopicPartition> partitions, CancellationToken ct)
    {
        var listOptions = new ListOffsetsOptions { RequestTimeout = _options.DependencyTimeout };
        var latest = await admin.ListOffsetsAsync(partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = OffsetSpec.Latest() }), listOptions);
        var earliest = await admin.ListOffsetsAsync(partitions.Select(p => new TopicPartitionOffsetSpec { TopicPartition = p, OffsetSpec = OffsetSpec.Earliest() }), listOptions);

        Dictionary<int, long> stored;
        await using (var connection = store.Storage.Database.CreateConnection())
        {
            await connection.OpenAsync(ct);
            // Requests held in memory for their open minute are not stored yet: lag counts from where a resume starts.
            stored = (await StoredKafkaOffsets.LoadAsync(connection, store.Options.DatabaseSchemaName, groupId, _kafka.Topic, ct))
                .ToDictionary(p => p.Key, p => p.Value.Resume);
        }

        return ConsumerLag.Sum(Offsets(latest), Offsets(earliest), stored);
    }

    /// <summary>The recorded pause reason is the whole exception text, stack trace included: its first line says what failed.</summary>
    /// <summary>
    /// Why a shard counts as halted, or null. The daemon writes each status change on the progression row (extended
    /// progression tracking, MaestroStore), so a replica that runs no daemon sees a shard paused or stopped by an error
    /// in the worker. A shard failing on the same event again and again reads Running between its pauses, though (and
    /// may have no row at all): what every replica can rely on is that its sequence stays put while events wait.
    /// </summary>
    private string? Halted(string shard, ShardState? row, long highWater, DateTimeOffset at)
    {
        // A stop without a failure is a shutdown or a hand-over, not a halt.
        if (row is not null && (row.AgentStatus == "Paused" || (row.AgentStatus == "Stopped" && row.Failure is not null)))
        {
            return $"{row.AgentStatus}: {FirstLine(row.Failure?.Message ?? row.PauseReason)}";
        }
        var sequence = row?.Sequence ?? 0;
        if (Stalled(shard, sequence, highWater, at) is not { } stalledFor)
        {
            return null;
        }
        var lastFailure = row?.Failure?.Message ?? row?.PauseReason;
        return $"stalled at sequence {sequence} for {stalledFor.TotalSeconds:0} s, {highWater - sequence} event(s) behind"
            + (string.IsNullOrWhiteSpace(lastFailure) ? "" : $"; last failure: {FirstLine(lastFailure)}");
    }

    /// <summary>How long the shard has stood at <paramref name="sequence"/> with events waiting, once that reaches Operations:ProjectionStalledAfter.</summary>
    private TimeSpan? Stalled(string shard, long sequence, long highWater, DateTimeOffset at)
    {
        if (sequence >= highWater)
        {
            _unmovedSince.Remove(shard);
            return null;
        }
        if (!_unmovedSince.TryGetValue(shard, out var seen) || seen.Sequence != sequence)
        {
            _unmovedSince[shard] = (sequence, at);
            return null;
        }
        var stalledFor = at - seen.Since;
        return stalledFor >= _options.ProjectionStalledAfter ? stalledFor : null;
    }

    private static string FirstLine(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return "no reason recorded";
        }
        var line = reason.AsSpan().Trim();
        var end = line.IndexOfAny('\r', '\n');
        line = end < 0 ? line : line[..end];
        return line.Length <= 300 ? line.ToString() : string.Concat(line[..300], "…");
    }

    private static Dictionary<int, long> Offsets(ListOffsetsResult result)
    {
        var offsets = new Dictionary<int, long>(result.ResultInfos.Count);
        foreach (var info in result.ResultInfos)
        {
            offsets[info.TopicPartitionOffsetError.Partition.Value] = info.TopicPartitionOffsetError.Offset.Value;
        }
        return offsets;
    }

    private async Task<ProjectionSample> SampleProjectionsAsync(CancellationToken ct)
    {
        var at = time.GetUtcNow();
        var behind = new Dictionary<string, long>();
        try
        {
            var progress = await store.Advanced.AllProjectionProgress(token: ct);
            long highWater = 0;
            foreach (var state in progress)
            {
                if (state.ShardName == HighWaterMark)
                {
                    highWater = state.Sequence;
                }
            }

            // Every async projection, also one the daemon has not started yet (it has no progress row).
            var halted = new Dictionary<string, string>();
            foreach (var projection in store.Options.Events.Projections())
            {
                if (projection.Lifecycle != ProjectionLifecycle.Async)
                {
                    continue;
                }
                // One series per projection (each latency_rollups_N shard is one); a projection's own slowest shard.
                var sequence = long.MaxValue;
                foreach (var shard in projection.ShardNames())
                {
                    var row = progress.FirstOrDefault(s => s.ShardName == shard.Identity);
                    sequence = Math.Min(sequence, row?.Sequence ?? 0);
                    if (Halted(shard.Identity, row, highWater, at) is { } reason)
                    {
                        halted[shard.Identity] = reason;
                    }
                }
                behind[projection.Name] = sequence == long.MaxValue ? highWater : Math.Max(0, highWater - sequence);
            }
            return new ProjectionSample(at, behind, null, halted);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Whatever failed (PostgreSQL away, usually), the sampler must live on to see it come back.
            return new ProjectionSample(at, behind, ex.Message);
        }
    }
}
