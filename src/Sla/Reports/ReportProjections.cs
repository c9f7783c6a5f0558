using JasperFx.Events.Projections;
using MaestroSla.Projections.Gaps;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Sla.Reports;

/// <summary>
/// The projections a live report reads — every latency rollup shard, the uptime signals and the input gaps — and how far
/// all of them have come.
/// </summary>
public static class ReportProjections
{
    /// <summary>
    /// The progress rows (shard identities, e.g. "latency_rollups_0:All") of the projections a report reads, as the
    /// store is configured: the shard names carry a projection's version, so a version bump is followed here.
    /// </summary>
    public static string[] ShardIdentities(IReadOnlyStoreOptions options) =>
        options.Events.Projections()
            .Where(p => p.Lifecycle == ProjectionLifecycle.Async && (LatencyRollupShards.IsShard(p.Name) || p.Name == UptimeSignalsProjection.ProjectionName || p.Name == IngestGapsProjection.ProjectionName))
            .SelectMany(p => p.ShardNames())
            .Select(s => s.Identity)
            .ToArray();

    /// <summary>Only the latency rollup shards' progress rows.</summary>
    public static string[] LatencyShardIdentities(IReadOnlyStoreOptions options) =>
        options.Events.Projections()
            .Where(p => p.Lifecycle == ProjectionLifecycle.Async && LatencyRollupShards.IsShard(p.Name))
            .SelectMany(p => p.ShardNames())
            .Select(s => s.Identity)
            .ToArray();

    /// <summary>
    /// SQL for the last event sequence every one of them has applied (0 while any has not started): a report computed
    /// at this position saw every event up to it. The slowest shard decides, as each holds only its services' rollups.
    /// </summary>
    public static string ProgressSql(IReadOnlyStoreOptions options)
    {
        // Our own projection names (letters, digits, '_' and ':'), so they can be literals in the statement.
        var names = string.Join(", ", ShardIdentities(options).Select(name => $"'{name}'"));
        return $"(select coalesce(min(coalesce(p.last_seq_id, 0)), 0) from unnest(array[{names}]::text[]) as shard(name) " +
            $"left join {options.Events.DatabaseSchemaName}.mt_event_progression p on p.name = shard.name)";
    }

    public static async Task<long> ProgressAsync(IQuerySession session, CancellationToken ct)
    {
        var progress = await session.AdvancedSql.QueryAsync<long>($"select {ProgressSql(session.DocumentStore.Options)}", ct);
        return progress.Count == 0 ? 0 : progress[0];
    }
}
