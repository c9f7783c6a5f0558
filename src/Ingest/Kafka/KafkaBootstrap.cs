using MaestroSla.Ingest.Embedded;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest.Kafka;

/// <summary>
/// The Kafka cluster this process talks to: the configured one, or — when none is configured — librdkafka's
/// mock cluster started in process with the telemetry topic created. Real Kafka is a configuration change only.
/// </summary>
public sealed class KafkaBootstrap : IDisposable
{
    private readonly MockKafkaCluster? _embedded;

    public KafkaBootstrap(IOptions<KafkaIngestOptions> options, ILogger<KafkaBootstrap> logger)
    {
        var settings = options.Value;
        if (!string.IsNullOrWhiteSpace(settings.BootstrapServers))
        {
            BootstrapServers = settings.BootstrapServers;
            GroupId = settings.GroupId;
            return;
        }

        _embedded = MockKafkaCluster.Start();
        _embedded.CreateTopic(settings.Topic, settings.EmbeddedPartitions);
        BootstrapServers = _embedded.BootstrapServers;
        // The embedded cluster's topics live only as long as this process, while the offsets stored with the
        // events outlive it: a fresh group per embedded cluster keeps old offsets from pointing into a new topic.
        GroupId = $"{settings.GroupId}-{Guid.NewGuid():N}";
        logger.LogInformation(
            "No Kafka configured: embedded Kafka-protocol mock cluster on {Servers}, topic {Topic} with {Partitions} partitions",
            BootstrapServers, settings.Topic, settings.EmbeddedPartitions);
    }

    public string BootstrapServers { get; }

    /// <summary>The consumer group ingest uses (and stores its offsets under).</summary>
    public string GroupId { get; }

    public bool IsEmbedded => _embedded is not null;

    public void Dispose() => _embedded?.Dispose();
}
