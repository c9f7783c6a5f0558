using Marten;

namespace MaestroSla.Projections.Services;

public static class KnownServices
{
    /// <summary>Every service that has recorded anything.</summary>
    public static async Task<IReadOnlyList<string>> ListAsync(IQuerySession session, CancellationToken ct)
    {
        // Telemetry streams are keyed by service; other streams (targets, alerts) carry a '|', which no service
        // name can contain.
        var streams = (await session.AdvancedSql.QueryAsync<string>(
            $"select id from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_streams where position('|' in id) = 0", ct)).ToList();
        streams.Sort(StringComparer.Ordinal);
        return streams;
    }
}
