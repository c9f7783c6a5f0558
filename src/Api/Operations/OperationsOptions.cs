namespace MaestroSla.Api.Operations;

/// <summary>Configuration section "Operations": readiness thresholds and how often lag is sampled.</summary>
public sealed class OperationsOptions
{
    public const string Section = "Operations";

    /// <summary>
    /// Readiness fails above this many messages in the topic that are not stored yet (all partitions summed).
    /// A full batch (Kafka:MaxBatchMessages) in flight counts as lag, so keep this well above it.
    /// </summary>
    public long MaxConsumerLag { get; set; } = 500_000;

    /// <summary>Readiness fails when an async projection is this many events behind Marten's high-water mark.</summary>
    public int MaxProjectionLag { get; set; } = 10_000;

    /// <summary>How long PostgreSQL or one Kafka request may take to answer a probe before it counts as unreachable.</summary>
    public TimeSpan DependencyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often Kafka reachability and the lags are sampled. Probes and scrapes read the latest sample, so
    /// they stay cheap however often they come, and answer at most this much behind.
    /// </summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(5);
}
