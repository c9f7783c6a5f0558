using Confluent.Kafka;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Wolverine.Attributes;

namespace MaestroSla.Ingest.Kafka;

/// <summary>
/// Reads the telemetry topic (<see cref="KafkaIngestOptions.Topic"/>): one message is one record of the JSON wire
/// contract, decoded in place inside Consume (<see cref="TelemetryDeserializer"/>). Invalid messages become dead
/// letters. Everything else — exactly once, held minutes, rebalances — is <see cref="KafkaIngestConsumer{TValue, TTally}"/>.
/// </summary>
// A hosted service, not a message handler: Wolverine's discovery takes classes named *Consumer with a StartAsync
// method for handlers (of CancellationToken messages).
[WolverineIgnore]
public sealed class TelemetryConsumer(
    IOptions<KafkaIngestOptions> options,
    KafkaBootstrap bootstrap,
    TelemetryDecoder decoder,
    IDocumentStore store,
    IngestBatchWriter writer,
    IngestProgress progress,
    TimeProvider time,
    ILogger<TelemetryConsumer> logger)
    : KafkaIngestConsumer<KafkaTelemetry, TelemetryConsumer.NoTally>(
        options.Value, options.Value.Topic, bootstrap.GroupId, bootstrap, store, writer, progress, time, logger)
{
    protected override IDeserializer<KafkaTelemetry> CreateDeserializer() => new TelemetryDeserializer(decoder);

    protected override void Accept(IConsumer<Ignore, KafkaTelemetry> consumer, ConsumeResult<Ignore, KafkaTelemetry> result)
    {
        var partition = result.Partition.Value;
        var offset = result.Offset.Value;
        // Decoded inside Consume already (TelemetryDeserializer).
        var message = result.Message.Value;
        if (BeginMessage(consumer, partition, offset) is { } stored && !stored.IsStillOpen(offset, message.Decoded))
        {
            // Stored before: only the read position moved on.
            return;
        }
        if (!message.Decoded.IsValid)
        {
            AddDeadLetter(partition, offset, message.RejectedPayload, message.Decoded.Error!);
            return;
        }
        AddRecord(partition, offset, message.Decoded);
    }

    /// <summary>The JSON topic counts nothing beyond messages, requests and dead letters (see <see cref="IngestProgress"/>).</summary>
    public readonly struct NoTally;
}
