using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest.Kafka;

/// <summary>
/// The Kafka cluster this process talks to: the configured one, or — when none is configured — librdkafka's
/// mock cluster started in process with the telemetry topic created. Real Kafka is a configuration change only.
/// </summary>
public sealed class KafkaBootstrap : IDisposable
{
    private readonly IEmbeddedKafka? _embedded;

    /// <param name="startEmbedded">Starts the embedded cluster; hosts with the local harness (src/Local) register it.</param>
    public KafkaBootstrap(IOptions<KafkaIngestOptions> options, ILogger<KafkaBootstrap> logger, Func<IEmbeddedKafka>? startEmbedded = null)
    {
        var settings = options.Value;
        if (!string.IsNullOrWhiteSpace(settings.BootstrapServers))
        {
            BootstrapServers = settings.BootstrapServers;
            GroupId = settings.GroupId;
            return;
        }

        _embedded = startEmbedded?.Invoke()
            ?? throw new InvalidOperationException("No Kafka configured: set Kafka:BootstrapServers (only a host with the local harness starts an embedded cluster)");
        _embedded.CreateTopic(settings.Topic, settings.EmbeddedPartitions);
        if (!string.IsNullOrWhiteSpace(settings.OtlpTopic))
        {
            _embedded.CreateTopic(settings.OtlpTopic, settings.EmbeddedPartitions);
        }
        BootstrapServers = _embedded.BootstrapServers;
        // The embedded cluster's topics live only as long as this process, while the offsets stored with the
        // events outlive it: a fresh group per embedded cluster keeps old offsets from pointing into a new topic.
        GroupId = $"{settings.GroupId}-{Guid.NewGuid():N}";
        // The mock's retention is silent data loss for anyone who publishes faster than ingest reads: say so at start.
        logger.LogWarning(
            "No Kafka configured: embedded Kafka-protocol mock cluster on {Servers}, topic {Topic} with {Partitions} partitions. " +
            "It is for demos and tests only: it keeps about {PartitionMiB} MiB per partition ({TotalMiB} MiB in all) and silently drops " +
            "older records, read or not, so a burst published faster than ingest consumes it is lost. For anything else set " +
            "Kafka:BootstrapServers to a real Kafka cluster (infra/ has one in docker compose)",
            BootstrapServers, settings.Topic, settings.EmbeddedPartitions, MockRetentionMiBPerPartition,
            MockRetentionMiBPerPartition * settings.EmbeddedPartitions);
    }

    /// <summary>What librdkafka's mock broker keeps of each partition before it drops the oldest records.</summary>
    public const int MockRetentionMiBPerPartition = 5;

    public string BootstrapServers { get; }

    /// <summary>The consumer group ingest uses (and stores its offsets under).</summary>
    public string GroupId { get; }

    public bool IsEmbedded => _embedded is not null;

    public void Dispose() => _embedded?.Dispose();
}
