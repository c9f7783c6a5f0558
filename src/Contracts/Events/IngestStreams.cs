namespace MaestroSla.Contracts.Events;

/// <summary>
/// Where ingest appends a service's events: one stream per (service, writer slot), keyed
/// <c>{service}|ingest|{slot}</c>. A slot is owned by one writer at a time — a Kafka partition whose stored-offset
/// row the writing transaction has locked, or an HTTP slot held by a transaction-scoped advisory lock — so two
/// instances never append to the same stream and never collide on its version. A service's events are the union of
/// its streams (and, for stores written before slots existed, the stream keyed by the bare service name).
/// </summary>
public static class IngestStreams
{
    public const string Infix = "|ingest|";

    public static string For(string service, string slot) => service + Infix + slot;

    /// <summary>The prefix every ingest stream of <paramref name="service"/> starts with.</summary>
    public static string PrefixOf(string service) => service + Infix;

    public static string KafkaSlot(string topic, int partition) => $"kafka:{topic}:{partition}";

    public static string HttpSlot(int slot) => $"http:{slot}";

    /// <summary>The service of an ingest stream key, or of a pre-slot stream keyed by the service alone.</summary>
    public static string ServiceOf(string streamKey)
    {
        var infix = streamKey.IndexOf(Infix, StringComparison.Ordinal);
        return infix < 0 ? streamKey : streamKey[..infix];
    }
}
