using System.Globalization;
using JasperFx.Events.Projections;
using MaestroSla.EventStore;
using MaestroSla.Projections.Gaps;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Uptime;
using Marten;
using Marten.Services.BatchQuerying;

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
    /// The last event sequence every one of them has applied (0 while any has not started): a report computed at this
    /// position saw every event up to it. The slowest shard decides, as each holds only its services' rollups.
    /// </summary>
    /// <remarks>
    /// A statement of <paramref name="batch"/>: the statements of a batch run one after another, each seeing what had
    /// been committed when it began, so what the batch reads after this includes at least every event up to the
    /// sequence it returns.
    /// </remarks>
    public static async Task<long> Progress(IBatchedQuery batch, IReadOnlyStoreOptions options)
    {
        // Marten's batch takes user SQL with one column for a document or a scalar; text is the scalar it reads as-is.
        var rows = batch.Query<string>($"select {EventStoreQueries.SlowestProgressSql(options, ShardIdentities(options))}::text");
        return long.Parse((await rows)[0], CultureInfo.InvariantCulture);
    }
}
