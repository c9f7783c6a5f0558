using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections.Summaries;

/// <summary>The headline figures of one service over [From, To).</summary>
public sealed record ServiceSummary(
    string Service,
    DateTimeOffset From,
    DateTimeOffset To,
    long Requests,
    long Errors,
    double? ErrorRatePercent,
    double? P50Ms,
    double? P95Ms,
    double? P99Ms,
    double UptimePercent,
    int DowntimeEvents,
    TimeSpan Downtime)
{
    public static async Task<ServiceSummary> LoadAsync(IQuerySession session, string service, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        from = from.ToUniversalTime();
        to = to.ToUniversalTime();

        var ids = RollupPlan.Cover(from, to)
            .Select(s => LatencyRollup.IdFor(service, LatencyRollup.AllEndpoints, s.Grain, s.Start))
            .ToArray();
        var rollups = await session.LoadManyAsync<LatencyRollup>(ct, ids);

        var latency = new LatencyHistogram();
        long requests = 0, errors = 0;
        foreach (var rollup in rollups)
        {
            requests += rollup.Requests;
            errors += rollup.Errors;
            latency.AddEncoded(rollup.Latency);
        }

        var downtimes = await session.Events.QueryRawEventDataOnly<DowntimeRecorded>()
            .Where(d => d.Service == service && d.Start < to && d.End > from)
            .ToListAsync(ct);
        var merged = DowntimeIntervals.MergeWithin(downtimes.Select(d => new Interval(d.Start, d.End)), from, to);
        var down = DowntimeIntervals.Total(merged);

        return new ServiceSummary(
            service, from, to, requests, errors,
            requests == 0 ? null : 100.0 * errors / requests,
            latency.PercentileMs(50),
            latency.PercentileMs(95),
            latency.PercentileMs(99),
            100.0 * (1 - (down / (to - from))),
            merged.Count,
            down);
    }

    /// <summary>Every service that has recorded anything (the streams are keyed by service).</summary>
    public static async Task<IReadOnlyList<string>> ServicesAsync(IQuerySession session, CancellationToken ct)
    {
        // Telemetry streams are keyed by service; other streams (targets, alerts) carry a '|', which no service
        // name can contain.
        var streams = (await session.AdvancedSql.QueryAsync<string>(
            $"select id from {session.DocumentStore.Options.Events.DatabaseSchemaName}.mt_streams where position('|' in id) = 0", ct)).ToList();
        streams.Sort(StringComparer.Ordinal);
        return streams;
    }
}
