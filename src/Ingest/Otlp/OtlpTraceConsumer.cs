using Confluent.Kafka;
using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Wolverine.Attributes;

namespace MaestroSla.Ingest.Otlp;

/// <summary>
/// Reads OTLP trace exports from Kafka (<see cref="KafkaIngestOptions.OtlpTopic"/>) as the OpenTelemetry Collector's
/// Kafka exporter writes them with encoding <c>otlp_proto</c>: one message is one export of many spans. SERVER spans
/// become requests exactly as at <c>POST /v1/traces</c> (<see cref="OtlpSpanDecoder"/>), other kinds are counted, and
/// exactly once, held minutes and rebalances work as on the JSON topic (<see cref="KafkaIngestConsumer{TValue, TTally}"/>),
/// span by span. A message that is not an export is dead-lettered whole; refused SERVER spans of a readable export are
/// dead-lettered as an export of their own, so nothing read is lost and nothing stored is in a dead letter twice.
/// </summary>
/// <remarks>
/// A consumer group of its own (<see cref="GroupOf"/>): the JSON topic's group rebalances without this one, and the
/// stored offsets of the two never meet.
/// </remarks>
// A hosted service, not a message handler: Wolverine's discovery takes classes named *Consumer with a StartAsync
// method for handlers (of CancellationToken messages).
[WolverineIgnore]
public sealed class OtlpTraceConsumer(
    IOptions<KafkaIngestOptions> options,
    KafkaBootstrap bootstrap,
    OtlpSpanDecoder decoder,
    IDocumentStore store,
    IngestBatchWriter writer,
    IngestProgress progress,
    TimeProvider time,
    ILogger<OtlpTraceConsumer> logger)
    : KafkaIngestConsumer<KafkaOtlpExport, OtlpSpanCounts>(
        options.Value, TopicOf(options.Value), GroupOf(bootstrap.GroupId), bootstrap, store, writer, progress, time, logger)
{
    /// <summary>The key of this consumer's <see cref="IngestProgress"/> among the keyed services.</summary>
    public const string ProgressKey = "otlp";

    private readonly List<RequestMetric> _requests = [];
    private readonly ExportTraceServiceRequest _refused = new();
    private long _storedSpans;
    private long _ignoredSpans;
    private long _refusedSpans;

    /// <summary>The consumer group of the OTLP topic, next to the JSON topic's <paramref name="groupId"/>.</summary>
    public static string GroupOf(string groupId) => groupId + "-otlp";

    /// <summary>SERVER spans stored as requests since start (counted once their batch committed).</summary>
    public long StoredSpans => Interlocked.Read(ref _storedSpans);

    /// <summary>Spans of other kinds read and passed over, once their batch committed.</summary>
    public long IgnoredSpans => Interlocked.Read(ref _ignoredSpans);

    /// <summary>SERVER spans refused (and dead-lettered), once their batch committed.</summary>
    public long RefusedSpans => Interlocked.Read(ref _refusedSpans);

    private static string TopicOf(KafkaIngestOptions options) =>
        string.IsNullOrWhiteSpace(options.OtlpTopic) ? throw new InvalidOperationException("Kafka:OtlpTopic is empty: OTLP from Kafka is off") : options.OtlpTopic;

    protected override IDeserializer<KafkaOtlpExport> CreateDeserializer() => new OtlpExportDeserializer(decoder, _requests, _refused);

    protected override void Accept(IConsumer<Ignore, KafkaOtlpExport> consumer, ConsumeResult<Ignore, KafkaOtlpExport> result)
    {
        var partition = result.Partition.Value;
        var offset = result.Offset.Value;
        // Decoded inside Consume already (OtlpExportDeserializer): its requests are in _requests, its refused spans in _refused.
        var message = result.Message.Value;
        // Below a resumed partition's stored read position: its dead letters and counts were stored with it, and only
        // the requests of minutes that were still open are taken again.
        var stored = BeginMessage(consumer, partition, offset);
        if (message.Error is not null)
        {
            if (stored is null)
            {
                AddDeadLetter(partition, offset, message.RejectedPayload, message.Error);
            }
            return;
        }

        foreach (var request in _requests)
        {
            var record = DecodedMessage.FromRequest(request);
            if (stored is { } position && !position.IsStillOpen(offset, record))
            {
                continue;
            }
            AddRecord(partition, offset, record);
        }
        var counts = message.Counts;
        if (stored is not null)
        {
            _refused.ResourceSpans.Clear();
            return;
        }
        ref var tally = ref Tally;
        tally.Accepted += counts.Accepted;
        tally.Ignored += counts.Ignored;
        tally.Rejected += counts.Rejected;
        if (counts.Accepted == 0 && counts.Rejected == 0)
        {
            // Only spans of other kinds: nothing is held, and their count is reported once this read position is stored.
            MarkClosedContent();
        }
        if (counts.Rejected > 0)
        {
            AddDeadLetter(partition, offset, _refused.ToByteArray(), string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{counts.Rejected} of {counts.Accepted + counts.Rejected} SERVER spans were refused (the payload holds them alone); the first: {counts.FirstRejection}"));
            _refused.ResourceSpans.Clear();
        }
    }

    protected override void OnStored(in OtlpSpanCounts tally)
    {
        OtlpSpanDecoder.CountStored(tally);
        Interlocked.Add(ref _storedSpans, tally.Accepted);
        Interlocked.Add(ref _ignoredSpans, tally.Ignored);
        Interlocked.Add(ref _refusedSpans, tally.Rejected);
    }
}

/// <summary>
/// One message of the OTLP topic once decoded: what became of its spans (their requests and refused spans are in the
/// consumer's scratch lists), or why it is no export, with its bytes for the dead letter.
/// </summary>
public readonly record struct KafkaOtlpExport(OtlpSpanCounts Counts, byte[]? RejectedPayload, string? Error);

/// <summary>
/// Decodes each message value in place, in librdkafka's buffer, inside Consume (on the loop's thread, which the
/// decoder and the scratch lists need; the loop takes them in before it reads the next message). Never throws: an
/// exception here would make Consume skip the message, which is lost input; a value that is no export becomes a
/// dead letter instead.
/// </summary>
/// <remarks>
/// The Collector's <c>otlp_proto</c> encoding writes a <c>TracesData</c>, whose only field (1, the resource spans) is
/// the export request's: the bytes are the same message.
/// </remarks>
internal sealed class OtlpExportDeserializer(OtlpSpanDecoder decoder, List<RequestMetric> requests, ExportTraceServiceRequest refused)
    : IDeserializer<KafkaOtlpExport>
{
    public KafkaOtlpExport Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        refused.ResourceSpans.Clear();
        if (isNull)
        {
            requests.Clear();
            return new KafkaOtlpExport(default, [], "the message has no value (a tombstone), not an OTLP trace export");
        }
        try
        {
            return new KafkaOtlpExport(decoder.Decode(data, requests, refused), null, null);
        }
        catch (OtlpFormatException ex)
        {
            return new KafkaOtlpExport(default, data.ToArray(),
                $"not an OTLP trace export in protobuf (the Collector's Kafka exporter with encoding otlp_proto): {ex.Message}");
        }
    }
}
