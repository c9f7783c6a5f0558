using MaestroSla.EventStore;
using Marten;

namespace MaestroSla.Sla.Services;

/// <summary>Services as the event store knows them: the catalogue reports, status and alerts enumerate.</summary>
/// <remarks>Read from the stream table by <see cref="EventStoreQueries"/>, which owns the key convention.</remarks>
public static class KnownServices
{
    /// <summary>Every service that has recorded anything.</summary>
    public static Task<IReadOnlyList<string>> ListAsync(IQuerySession session, CancellationToken ct) =>
        EventStoreQueries.ServicesAsync(session, ct);

    /// <summary>The keys of every stream that holds <paramref name="service"/>'s ingested events.</summary>
    public static Task<string[]> StreamKeysAsync(IQuerySession session, string service, CancellationToken ct) =>
        EventStoreQueries.ServiceStreamKeysAsync(session, service, ct);
}
