using MaestroSla.Sla.Reports;
using Marten;

namespace MaestroSla.Api.Alerts;

public static class ProjectionLag
{
    /// <summary>
    /// How long the oldest event some latency rollup shard has not processed yet has been waiting (zero when they are
    /// caught up). Measured on the database's clock against the events' own timestamps, so the application's
    /// TimeProvider — a fake one in tests — cannot skew it.
    /// </summary>
    /// <remarks>
    /// A plain "progression &lt; high-water mark" test would be true most of the time under continuous ingest
    /// (the daemon trails new events by a fraction of a second), so the evaluation would keep skipping. What
    /// matters is a large lag — a daemon that is down, rebuilding or catching up — during which the windows are
    /// missing recent traffic and alerts would resolve and re-raise spuriously. Comparing with the newest stored
    /// events instead of the daemon's high-water mark also covers a node where no daemon runs.
    /// </remarks>
    public static async Task<TimeSpan> OfLatencyRollupsAsync(IQuerySession session, CancellationToken ct)
    {
        var options = session.DocumentStore.Options;
        // Every rollup shard: the slowest one decides, since its services' windows are the ones missing traffic.
        var shards = ReportProjections.LatencyShardIdentities(options);
        var schema = options.Events.DatabaseSchemaName;
        var seconds = await session.AdvancedSql.QueryAsync<double>(
            $"""
            select coalesce(extract(epoch from now() - min(e.timestamp))::float8, 0)
            from (select timestamp from {schema}.mt_events
                  where seq_id > (select coalesce(min(coalesce(p.last_seq_id, 0)), 0)
                                  from unnest(?::text[]) as shard(name)
                                  left join {schema}.mt_event_progression p on p.name = shard.name)
                  order by seq_id
                  limit 1) e
            """,
            ct,
            // As one text[] parameter, not spread as params (a string[] is an object[]).
            (object)shards);
        return TimeSpan.FromSeconds(Math.Max(0, seconds[0]));
    }
}
