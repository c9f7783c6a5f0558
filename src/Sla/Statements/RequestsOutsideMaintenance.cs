using MaestroSla.Contracts.Latency;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;
using MaestroSla.Sla.Services;
using Marten;

namespace MaestroSla.Sla.Statements;

/// <summary>Requests, errors and latency of a service over a period: all of them, and those kept after maintenance.</summary>
public sealed record RequestCounts(long Requests, long Errors, LatencyHistogram Latency)
{
    public double? AvailabilityPercent => Requests == 0 ? null : 100.0 * (Requests - Errors) / Requests;

    public double? ErrorRatePercent => Requests == 0 ? null : 100.0 * Errors / Requests;
}

/// <summary>
/// excludeRequests: requests whose time lies in the maintenance windows M are left out of availability, error rate and
/// latency. Requests are stored per UTC minute (rollups and events alike), so the rule works on whole minutes: a
/// minute's requests are left out when the whole minute lies inside M. A minute that a window's edge cuts (a window
/// starting at 02:00:30) keeps its requests: which of them fell inside cannot be told, and counting them never hides
/// a failure from the customer. Windows on whole minutes — every window the API and the demo create unless asked
/// otherwise — are therefore exact.
/// </summary>
public static class RequestsOutsideMaintenance
{
    /// <summary>The minutes wholly inside M (sorted, disjoint intervals on whole minutes).</summary>
    public static List<Interval> ExcludedMinutes(IEnumerable<Interval> maintenance)
    {
        var minutes = new List<Interval>();
        foreach (var window in maintenance)
        {
            var start = LatencyRollup.StartOf(RollupGrain.Minute, window.Start);
            if (start < window.Start)
            {
                start = start.AddMinutes(1);
            }
            var end = LatencyRollup.StartOf(RollupGrain.Minute, window.End);
            if (end > start)
            {
                minutes.Add(new Interval(start, end));
            }
        }
        return DowntimeIntervals.MergeWithin(minutes, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
    }

    /// <summary>
    /// All requests of [from, to) (to the minute, as reports resolve it) and those outside <paramref name="excluded"/>;
    /// with a <paramref name="customer"/>, that customer's only. Now: from the rollups (days, hours and minutes that cover
    /// the period and the gaps between windows). As of T: from the request events recorded up to T.
    /// </summary>
    public static async Task<(RequestCounts All, RequestCounts Kept)> LoadAsync(
        IQuerySession session, string service, DateTimeOffset from, DateTimeOffset to, List<Interval> excluded, DateTimeOffset? asOf,
        CancellationToken ct, string? customer = null)
    {
        var series = RollupSeries.Key(null, customer);
        var (start, end) = MinuteBounds(from, to);
        var kept = AdjustedUptime.Minus([new Interval(start, end)], excluded);
        var allLatency = new LatencyHistogram();
        var keptLatency = new LatencyHistogram();
        long requests = 0, errors = 0, keptRequests = 0, keptErrors = 0;
        if (asOf is null)
        {
            var batch = session.CreateBatchQuery();
            var allLoading = LatencyRollups.Load(batch, service, series, RollupPlan.Cover(start, end));
            var keptLoading = LatencyRollups.Load(batch, service, series, kept.SelectMany(k => RollupPlan.Cover(k.Start, k.End)));
            await batch.Execute(ct);
            foreach (var rollup in await allLoading.ResultAsync(session, ct))
            {
                requests += rollup.Requests;
                errors += rollup.Errors;
                allLatency.AddEncoded(rollup.Latency);
            }
            foreach (var rollup in await keptLoading.ResultAsync(session, ct))
            {
                keptRequests += rollup.Requests;
                keptErrors += rollup.Errors;
                keptLatency.AddEncoded(rollup.Latency);
            }
        }
        else
        {
            var streams = await KnownServices.StreamKeysAsync(session, service, ct);
            var recorded = await session.Events.QueryAllRawEvents()
                .Where(e => e.StreamKey.IsOneOf(streams) && e.Timestamp <= asOf.Value)
                .OrderBy(e => e.Sequence)
                .ToListAsync(ct);
            foreach (var @event in recorded)
            {
                if (RollupSeries.Recorded(@event.Data) is not { } minutes || !RollupSeries.Counts(series, minutes.Series))
                {
                    continue;
                }
                foreach (var minute in minutes.Minutes)
                {
                    if (minute.Minute < start || minute.Minute >= end)
                    {
                        continue;
                    }
                    requests += minute.Requests;
                    errors += minute.Errors;
                    allLatency.AddEncoded(minute.Latency);
                    if (!Inside(excluded, minute.Minute))
                    {
                        keptRequests += minute.Requests;
                        keptErrors += minute.Errors;
                        keptLatency.AddEncoded(minute.Latency);
                    }
                }
            }
        }
        return (new RequestCounts(requests, errors, allLatency), new RequestCounts(keptRequests, keptErrors, keptLatency));
    }

    private static bool Inside(List<Interval> intervals, DateTimeOffset minute)
    {
        foreach (var interval in intervals)
        {
            if (minute >= interval.Start && minute < interval.End)
            {
                return true;
            }
        }
        return false;
    }

    // The same minute resolution as reports: from rounded down, to rounded up.
    private static (DateTimeOffset Start, DateTimeOffset End) MinuteBounds(DateTimeOffset from, DateTimeOffset to)
    {
        var start = LatencyRollup.StartOf(RollupGrain.Minute, from);
        var end = LatencyRollup.StartOf(RollupGrain.Minute, to);
        return (start, end < to ? end.AddMinutes(1) : end);
    }
}
