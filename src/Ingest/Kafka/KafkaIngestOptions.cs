using Confluent.Kafka;

namespace MaestroSla.Ingest.Kafka;

/// <summary>Configuration section "Kafka".</summary>
public sealed class KafkaIngestOptions
{
    public const string Section = "Kafka";

    /// <summary>Empty: start librdkafka's in-process mock cluster (a real Kafka-protocol broker on loopback).</summary>
    public string? BootstrapServers { get; set; }

    public string Topic { get; set; } = "maestro.telemetry";

    /// <summary>
    /// OTLP trace exports as the OpenTelemetry Collector's Kafka exporter writes them (encoding otlp_proto; its
    /// default topic is "otlp_spans"), read by a consumer group of its own (GroupId + "-otlp"). Empty: not read.
    /// </summary>
    public string? OtlpTopic { get; set; } = "otlp_spans";

    public string GroupId { get; set; } = "maestrosla-ingest";

    /// <summary>Partitions of the topic the embedded cluster creates (real clusters are provisioned by operators).</summary>
    public int EmbeddedPartitions { get; set; } = 32;

    /// <summary>
    /// A batch is handed to the writer at the latest this long after its first message, or when the previous
    /// batch has committed if that takes longer (one write is in flight at a time).
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A batch is stored as soon as it holds this many messages.</summary>
    public int MaxBatchMessages { get; set; } = 100_000;

    /// <summary>
    /// Keep the requests of minutes still open in memory until the minute has ended (plus <see cref="OpenMinuteGrace"/>),
    /// so each series' minute becomes one event however often batches are stored. The price: after a crash or a
    /// partition moving, up to about a minute and the grace of a partition is read again from Kafka (never stored
    /// twice). Off: every batch stores every minute it holds, as one event per series and batch.
    /// </summary>
    public bool HoldOpenMinutes { get; set; } = true;

    /// <summary>How long after a minute ends its requests are still awaited before the minute is stored.</summary>
    public TimeSpan OpenMinuteGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether this process runs the ingest consumer (an API-only replica can turn it off).</summary>
    public bool ConsumerEnabled { get; set; } = true;

    /// <summary>
    /// Passed to librdkafka as they are: security.protocol, sasl.*, ssl.*, session.timeout.ms, group.protocol …
    /// so that SASL/TLS and tuning need configuration only.
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];

    public ConsumerConfig ToConsumerConfig(string bootstrapServers, string groupId)
    {
        var config = new ConsumerConfig(new Dictionary<string, string>(Client))
        {
            BootstrapServers = bootstrapServers,
            GroupId = groupId,
            // Where a partition starts is decided by the offsets stored with the events, not by Kafka; Kafka's
            // own commits are kept up to date for lag tools only.
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
        };
        // The loop reads a whole batch, then stores it; meanwhile librdkafka's prefetch queue passes
        // queued.min.messages and every partition stops fetching for fetch.queue.backoff.ms (1 s by default).
        // Measured: 115 k → 300 k requests/s with 10 ms (docs/benchmarks.md). Client settings still win.
        if (!Client.ContainsKey("fetch.queue.backoff.ms"))
        {
            config.Set("fetch.queue.backoff.ms", "10");
        }
        // By default Confluent.Kafka copies every message's topic name (a new string), timestamp and headers (a new
        // Headers object) out of librdkafka; the consumer reads one configured topic and needs none of them.
        // Partition, offset and value still come. Client settings still win.
        if (!Client.ContainsKey(ConfigPropertyNames.Consumer.ConsumeResultFields))
        {
            config.ConsumeResultFields = "none";
        }
        return config;
    }

    public ProducerConfig ToProducerConfig(string bootstrapServers) =>
        new(new Dictionary<string, string>(Client)) { BootstrapServers = bootstrapServers };
}
