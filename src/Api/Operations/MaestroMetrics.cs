using System.Diagnostics.Metrics;
using MaestroSla.Api.Backups;
using MaestroSla.Ingest.Kafka;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Operations;

/// <summary>
/// The meter "MaestroSla". The ingest counters observe <see cref="IngestProgress"/>'s totals rather than being
/// added to beside them: the consumer keeps one count, and the metric cannot drift from what status and probes
/// report. The lag gauges report the sampler's latest sample and nothing while it is unknown, since a stale or
/// zero lag would read as healthy. Names carry their unit where Prometheus wants it (the exporter drops
/// annotation units such as {message}) and counters get _total from the exporter: maestrosla_ingest_messages_total,
/// maestrosla_kafka_consumer_lag_messages, maestrosla_projection_lag_events.
/// </summary>
public sealed class MaestroMetrics
{
    public const string MeterName = "MaestroSla";

    public MaestroMetrics(
        IMeterFactory meters, IngestProgress progress, OperationsSampler sampler, ProjectionDaemonMonitor daemon,
        IOptions<KafkaIngestOptions> kafka, IOptions<BackupScheduleOptions> backupSchedule, TimeProvider time)
    {
        // From the host's factory, so the meter and its callbacks go with the host (tests run several in one process).
        var meter = meters.Create(MeterName);
        var topic = new KeyValuePair<string, object?>("topic", kafka.Value.Topic);

        meter.CreateObservableCounter("maestrosla.ingest.messages", () => new Measurement<long>(progress.StoredMessages, topic),
            "{message}", "Kafka messages stored by this process's consumer, dead letters included");
        meter.CreateObservableCounter("maestrosla.ingest.requests", () => new Measurement<long>(progress.StoredRequests, topic),
            "{request}", "Request metrics stored by this process's consumer");
        meter.CreateObservableCounter("maestrosla.ingest.dead_letters", () => new Measurement<long>(progress.StoredDeadLetters, topic),
            "{message}", "Kafka messages this process's consumer stored as dead letters");
        meter.CreateObservableCounter("maestrosla.ingest.batches", () => new Measurement<long>(progress.StoredBatches, topic),
            "{batch}", "Batches this process's consumer stored (one PostgreSQL transaction each)");

        meter.CreateObservableCounter("maestrosla.ingest.lost_messages", () => new Measurement<long>(progress.LostMessages, topic),
            "{message}", "Kafka messages the broker deleted before this process's consumer read them (IngestGapDetected)");
        meter.CreateObservableCounter("maestrosla.ingest.batch_failures", () => BatchFailures(progress, topic),
            "{batch}", "Batches this process's consumer could not store (rolled back, then read again), by reason: PostgreSQL SQLSTATE class, fenced, timeout, ...");
        meter.CreateObservableGauge("maestrosla.ingest.consecutive_batch_failures", () => new Measurement<long>(progress.FailureStreak?.Consecutive ?? 0, topic),
            "{batch}", "Batches not stored in a row since the last stored one (fences by a rebalance not counted)");
        meter.CreateObservableGauge("maestrosla.ingest.last_stored_batch.timestamp_seconds", () => LastStored(progress, topic),
            null, "Unix time of the last batch this process's consumer stored");

        meter.CreateObservableCounter("maestrosla.projection.errors", () => ShardCounts(daemon, f => f.Errors),
            "{error}", "Errors this process's async daemon reported per projection shard");
        meter.CreateObservableCounter("maestrosla.projection.pauses", () => ShardCounts(daemon, f => f.Pauses + f.Stops),
            "{pause}", "Times this process's async daemon paused or stopped a projection shard after an error");
        meter.CreateObservableGauge("maestrosla.projection.halted", () => Halted(sampler, daemon),
            "{shard}", "1 per projection shard paused or stopped by an error (progression rows and this process's daemon)");

        var interval = BackupAgeHealthCheck.Interval(backupSchedule.Value);
        meter.CreateObservableGauge("maestrosla.backup.age_seconds", () => BackupAge(sampler, time),
            null, "Seconds since the newest successful backup finished (absent before the first)");
        meter.CreateObservableGauge("maestrosla.backup.interval_seconds",
            () => interval is { } every ? [new Measurement<double>(every.TotalSeconds)] : Array.Empty<Measurement<double>>(),
            null, "The shortest Backup:Schedule interval (absent without a schedule)");
        meter.CreateObservableCounter("maestrosla.backup.failed_runs", () => FailedRuns(sampler),
            "{run}", "Failed backup and restore runs recorded in the store, by operation and reason");

        meter.CreateObservableGauge("maestrosla.sla.alert_active", () => ActiveAlerts(sampler),
            "{alert}", "1 per SLA burn-rate rule firing now for a service (evaluated by event time by the service)");
        meter.CreateObservableGauge("maestrosla.sla.burn_rate", () => BurnRates(sampler),
            null, "Error-budget burn rate over the long and short window of each firing burn-rate rule, as seen when raised");

        meter.CreateObservableGauge("maestrosla.kafka.consumer_lag.messages", () => ConsumerLag(sampler, topic),
            "{message}", "Messages in the topic not stored yet, all partitions summed (sampled)");
        meter.CreateObservableGauge("maestrosla.projection_lag.events", () => ProjectionLag(sampler),
            "{event}", "Events an async projection is behind Marten's high-water mark (sampled)");
    }

    private static List<Measurement<long>> BatchFailures(IngestProgress progress, KeyValuePair<string, object?> topic)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var (reason, count) in progress.FailuresByReason)
        {
            measurements.Add(new Measurement<long>(count, topic, new KeyValuePair<string, object?>("reason", reason)));
        }
        return measurements;
    }

    private static IEnumerable<Measurement<double>> LastStored(IngestProgress progress, KeyValuePair<string, object?> topic) =>
        progress.LastStoredAt is { } at ? [new Measurement<double>(at.ToUnixTimeMilliseconds() / 1000.0, topic)] : [];

    private static List<Measurement<long>> ShardCounts(ProjectionDaemonMonitor daemon, Func<ShardFailures, long> count)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var (shard, failures) in daemon.Shards)
        {
            measurements.Add(new Measurement<long>(count(failures), new KeyValuePair<string, object?>("shard", shard)));
        }
        return measurements;
    }

    private static List<Measurement<long>> Halted(OperationsSampler sampler, ProjectionDaemonMonitor daemon)
    {
        var halted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (shard, _) in sampler.Projections?.Halted ?? new Dictionary<string, string>())
        {
            halted.Add(shard);
        }
        foreach (var (shard, failures) in daemon.Shards)
        {
            if (failures.Halted)
            {
                halted.Add(shard);
            }
        }
        // Every known shard gets a series, 0 or 1, so an alert can tell "running" from "not reported".
        var measurements = new List<Measurement<long>>();
        foreach (var projection in sampler.Projections?.EventsBehind.Keys ?? [])
        {
            var shard = projection + ":All";
            measurements.Add(new Measurement<long>(halted.Remove(shard) ? 1 : 0, new KeyValuePair<string, object?>("shard", shard)));
        }
        foreach (var shard in halted)
        {
            measurements.Add(new Measurement<long>(1, new KeyValuePair<string, object?>("shard", shard)));
        }
        return measurements;
    }

    private static IEnumerable<Measurement<double>> BackupAge(OperationsSampler sampler, TimeProvider time) =>
        sampler.Records?.LastBackupAt is { } last ? [new Measurement<double>(Math.Max(0, (time.GetUtcNow() - last).TotalSeconds))] : [];

    private static List<Measurement<long>> FailedRuns(OperationsSampler sampler)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var runs in sampler.Records?.FailedRuns ?? [])
        {
            measurements.Add(new Measurement<long>(runs.Count,
                new KeyValuePair<string, object?>("operation", runs.Operation), new KeyValuePair<string, object?>("reason", runs.Reason)));
        }
        return measurements;
    }

    private static List<Measurement<long>> ActiveAlerts(OperationsSampler sampler)
    {
        var measurements = new List<Measurement<long>>();
        foreach (var alert in sampler.Records?.ActiveAlerts ?? [])
        {
            measurements.Add(new Measurement<long>(1,
                new KeyValuePair<string, object?>("service", alert.Service),
                new KeyValuePair<string, object?>("rule", alert.Rule),
                new KeyValuePair<string, object?>("severity", alert.Severity.ToString().ToLowerInvariant())));
        }
        return measurements;
    }

    private static List<Measurement<double>> BurnRates(OperationsSampler sampler)
    {
        var measurements = new List<Measurement<double>>();
        foreach (var alert in sampler.Records?.ActiveAlerts ?? [])
        {
            var service = new KeyValuePair<string, object?>("service", alert.Service);
            var rule = new KeyValuePair<string, object?>("rule", alert.Rule);
            measurements.Add(new Measurement<double>(alert.BurnRateLong, service, rule, new KeyValuePair<string, object?>("window", "long")));
            measurements.Add(new Measurement<double>(alert.BurnRateShort, service, rule, new KeyValuePair<string, object?>("window", "short")));
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ConsumerLag(OperationsSampler sampler, KeyValuePair<string, object?> topic) =>
        sampler.Kafka?.ConsumerLag is { } lag ? [new Measurement<long>(lag, topic)] : [];

    private static List<Measurement<long>> ProjectionLag(OperationsSampler sampler)
    {
        if (sampler.Projections is not { Error: null } sample)
        {
            return [];
        }
        var measurements = new List<Measurement<long>>(sample.EventsBehind.Count);
        foreach (var (projection, behind) in sample.EventsBehind)
        {
            measurements.Add(new Measurement<long>(behind, new KeyValuePair<string, object?>("projection", projection)));
        }
        return measurements;
    }
}
