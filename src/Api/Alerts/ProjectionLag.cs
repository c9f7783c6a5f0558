using MaestroSla.EventStore;
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
    public static Task<TimeSpan> OfLatencyRollupsAsync(IQuerySession session, CancellationToken ct) =>
        // Every rollup shard: the slowest one decides, since its services' windows are the ones missing traffic.
        EventStoreQueries.OldestUnprocessedAgeAsync(session, ReportProjections.LatencyShardIdentities(session.DocumentStore.Options), ct);
}
