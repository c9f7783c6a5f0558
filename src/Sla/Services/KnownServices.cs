using JasperFx.Events;
using MaestroSla.Contracts.Events;
using Marten;

namespace MaestroSla.Sla.Services;

/// <summary>Services as the event store knows them: every query of Marten's stream table by service is here.</summary>
public static class KnownServices
{
    /// <summary>Every service that has recorded anything.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(IQuerySession session, CancellationToken ct)
    {
        // Ingest streams are keyed "{service}|ingest|{slot}" (IngestStreams); stores written before slots keyed them
        // by the service alone. Other streams (targets, alerts, gaps) carry a '|' elsewhere — no service name can
        // contain one — and Marten keeps the sequence numbers of failed appends in its tombstone stream.
        var services = (await session.AdvancedSql.QueryAsync<string>(
            $"""
             select distinct case when position(? in id) > 0 then left(id, position(? in id) - 1) else id end
             from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_streams
             where position(? in id) > 0 or (position('|' in id) = 0 and id <> ?)
             """,
            ct,
            IngestStreams.Infix, IngestStreams.Infix, IngestStreams.Infix, Tombstone.StreamKey)).ToList();
        services.Sort(StringComparer.Ordinal);
        return services;
    }

    /// <summary>The keys of every stream that holds <paramref name="service"/>'s ingested events.</summary>
    public static async Task<string[]> StreamKeysAsync(IQuerySession session, string service, CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<string>(
            $"select id from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_streams where id = ? or starts_with(id, ?)",
            ct,
            service, IngestStreams.PrefixOf(service))).ToArray();
}
