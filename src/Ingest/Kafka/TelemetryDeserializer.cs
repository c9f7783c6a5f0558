using Confluent.Kafka;
using MaestroSla.Contracts.Messages;

namespace MaestroSla.Ingest.Kafka;

/// <summary>One Kafka message, decoded; its bytes are kept only when it is rejected, for the dead letter.</summary>
public readonly record struct KafkaTelemetry(DecodedMessage Decoded, byte[]? RejectedPayload);

/// <summary>
/// Decodes each message value in place, in librdkafka's buffer: Confluent.Kafka's byte[] deserializer would copy
/// every message of the firehose into a new array only for it to be decoded and dropped. Runs inside Consume, on
/// the consume thread, which is what the (not thread-safe) decoder needs.
/// </summary>
internal sealed class TelemetryDeserializer(TelemetryDecoder decoder) : IDeserializer<KafkaTelemetry>
{
    public KafkaTelemetry Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        var decoded = decoder.Decode(data);
        return new KafkaTelemetry(decoded, decoded.IsValid ? null : data.ToArray());
    }
}
