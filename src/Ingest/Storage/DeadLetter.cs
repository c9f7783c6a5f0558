namespace MaestroSla.Ingest.Storage;

/// <summary>
/// A message MaestroSla could not accept, kept with its original bytes so that nothing is lost and it can be
/// inspected or re-driven. Kafka dead letters are keyed by topic/partition/offset, so storing one twice is harmless.
/// </summary>
public sealed record DeadLetter
{
    public required string Id { get; init; }
    public required string Source { get; init; }          // "kafka" or "http"
    public string? Topic { get; init; }
    public int? Partition { get; init; }
    public long? Offset { get; init; }
    public required byte[] Payload { get; init; }
    public required string Reason { get; init; }
    public required DateTimeOffset ReceivedAt { get; init; }

    public static DeadLetter FromKafka(string topic, int partition, long offset, byte[]? payload, string reason, DateTimeOffset receivedAt) => new()
    {
        Id = $"kafka:{topic}:{partition}:{offset}",
        Source = "kafka",
        Topic = topic,
        Partition = partition,
        Offset = offset,
        Payload = payload ?? [],
        Reason = reason,
        ReceivedAt = receivedAt,
    };

    public static DeadLetter FromHttp(byte[] payload, string reason, DateTimeOffset receivedAt) => new()
    {
        Id = $"http:{Guid.CreateVersion7(receivedAt)}",
        Source = "http",
        Payload = payload,
        Reason = reason,
        ReceivedAt = receivedAt,
    };
}
