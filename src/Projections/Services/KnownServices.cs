using JasperFx.Events;
using Marten;

namespace MaestroSla.Projections.Services;

public static class KnownServices
{
    /// <summary>Every service that has recorded anything.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(IQuerySession session, CancellationToken ct)
    {
        // Telemetry streams are keyed by service; other streams (targets, alerts) carry a '|', which no service
        // name can contain, and Marten keeps the sequence numbers of failed appends in its tombstone stream.
        var streams = (await session.AdvancedSql.QueryAsync<string>(
            $"select id from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_streams where position('|' in id) = 0 and id <> ?",
            ct,
            Tombstone.StreamKey)).ToList();
        streams.Sort(StringComparer.Ordinal);
        return streams;
    }
}
