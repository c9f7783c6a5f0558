using System.Diagnostics.Metrics;
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

    public MaestroMetrics(IMeterFactory meters, IngestProgress progress, OperationsSampler sampler, IOptions<KafkaIngestOptions> kafka)
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

        meter.CreateObservableGauge("maestrosla.kafka.consumer_lag.messages", () => ConsumerLag(sampler, topic),
            "{message}", "Messages in the topic not stored yet, all partitions summed (sampled)");
        meter.CreateObservableGauge("maestrosla.projection_lag.events", () => ProjectionLag(sampler),
            "{event}", "Events an async projection is behind Marten's high-water mark (sampled)");
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
