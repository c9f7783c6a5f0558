namespace MaestroSla.Api.Operations;

/// <summary>Configuration section "Operations": health thresholds, what readiness includes, how often lag is sampled.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>
    /// True for a replica that does ingest alone (no report traffic): then Kafka reachability, partition
    /// assignment and consumer lag also decide /ready. False (the default), /ready is about serving reports only —
    /// PostgreSQL and the schema — and Kafka shows on /health, the metrics and the alerts.
    /// </summary>
    public bool ReadinessIncludesIngest { get; set; }

    /// <summary>The "ingest" component turns Degraded after this many batches in a row were not stored.</summary>
    public int IngestFailuresBeforeDegraded { get; set; } = 3;

    /// <summary>The "ingest" component turns Degraded when nothing was stored for this long although messages wait.</summary>
    public TimeSpan IngestStalledAfter { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A Degraded ingest (failing or stalled) that lasts this long is Unhealthy.</summary>
    public TimeSpan IngestUnhealthyAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The consumer lag component fails above this many messages in the topic that are not stored yet (all
    /// partitions summed). A full batch (Kafka:MaxBatchMessages) in flight counts as lag, so keep this well above it.
    /// </summary>
    public long MaxConsumerLag { get; set; } = 500_000;

    /// <summary>The "projections" component is Degraded when an async projection is this many events behind Marten's high-water mark.</summary>
    public int MaxProjectionLag { get; set; } = 10_000;

    /// <summary>
    /// A projection shard whose progress has not moved for this long while events wait for it counts as halted, on
    /// every replica: the progression row's status alone is not enough, since a shard that fails on the same event
    /// again and again reads Running between its pauses.
    /// </summary>
    public TimeSpan ProjectionStalledAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long PostgreSQL or one Kafka request may take to answer a probe before it counts as unreachable.</summary>
    public TimeSpan DependencyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often Kafka reachability and the lags are sampled. Probes and scrapes read the latest sample, so
    /// they stay cheap however often they come, and answer at most this much behind.
    /// </summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);
}
