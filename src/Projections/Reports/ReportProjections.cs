using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections.Reports;

/// <summary>The projections a live report reads, and how far all of them have come.</summary>
public static class ReportProjections
{
    public static readonly string[] Names = [LatencyRollupProjection.ProjectionName, UptimeSignalsProjection.ProjectionName];

    /// <summary>
    /// SQL for the last event sequence every one of them has applied (0 while any has not started): a report computed
    /// at this position saw every event up to it.
    /// </summary>
    public static string ProgressSql(string schema) =>
        "least(" + string.Join(", ", Names.Select(name =>
            $"coalesce((select max(last_seq_id) from {schema}.mt_event_progression where name = '{name}:All'), 0)")) + ")";

    public static async Task<long> ProgressAsync(IQuerySession session, CancellationToken ct)
    {
        var progress = await session.AdvancedSql.QueryAsync<long>($"select {ProgressSql(session.DocumentStore.Options.Events.DatabaseSchemaName)}", ct);
        return progress.Count == 0 ? 0 : progress[0];
    }
}
