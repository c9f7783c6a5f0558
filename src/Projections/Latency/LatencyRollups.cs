using JasperFx.Events;
using MaestroSla.Contracts.Latency;
using Marten;
using Marten.Services.BatchQuerying;

namespace MaestroSla.Projections.Latency;

public static class LatencyRollups
{
    /// <summary>
    /// The rollups of the given segments (see <see cref="RollupPlan"/>) that had traffic, minutes included: hour and
    /// day documents and the minutes' hour documents come back in one round trip.
    /// </summary>
    public static async Task<List<LatencyRollup>> LoadAsync(
        IQuerySession session, string service, string endpoint, IEnumerable<(RollupGrain Grain, DateTimeOffset Start)> segments,
        CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var loading = Load(batch, service, endpoint, segments);
        await batch.Execute(ct);
        return await loading.ResultAsync(session, ct);
    }

    /// <summary>The same as part of a batch the caller executes (with other reads of the same request).</summary>
    public static RollupsLoading Load(
        IBatchedQuery batch, string service, string endpoint, IEnumerable<(RollupGrain Grain, DateTimeOffset Start)> segments) =>
        Load(batch, service, [endpoint], segments);

    /// <summary>
    /// The same segments of several series of one service in the same two reads (one per document type) — a report reads
    /// its own series and the over-limit ones; see <see cref="RollupsLoading.ResultAsync(IQuerySession, string, CancellationToken)"/>.
    /// </summary>
    public static RollupsLoading Load(
        IBatchedQuery batch, string service, IReadOnlyList<string> series, IEnumerable<(RollupGrain Grain, DateTimeOffset Start)> segments)
    {
        var segmentList = segments as IReadOnlyCollection<(RollupGrain Grain, DateTimeOffset Start)> ?? segments.ToList();
        return Load(batch, service, series.Select(s => (s, (IEnumerable<(RollupGrain, DateTimeOffset)>)segmentList)), plans: null);
    }

    /// <summary>
    /// The rollups that make up [from, to) for several series of one service, each by its own plan: a series with month
    /// rollups by <see cref="RollupPlan.CoverWithMonths"/>, the others by <see cref="RollupPlan.Cover"/>. Read the totals
    /// with <see cref="RollupsLoading.AddTotalsAsync"/>, which takes the subtracted parts away.
    /// </summary>
    public static RollupsLoading Load(IBatchedQuery batch, string service, IReadOnlyList<string> series, DateTimeOffset from, DateTimeOffset to)
    {
        var plans = new Dictionary<string, WindowPlan>(StringComparer.Ordinal);
        foreach (var one in series)
        {
            plans[one] = new WindowPlan(
                from, to,
                LatencyRollup.HasMonths(one)
                    ? RollupPlan.CoverWithMonths(from, to)
                    : RollupPlan.Cover(from, to).Select(s => new RollupSegment(s.Grain, s.Start, Subtracted: false)).ToList());
        }
        return Load(batch, service, plans.Select(p => (p.Key, p.Value.Segments.Select(s => (s.Grain, s.Start)))), plans);
    }

    private static RollupsLoading Load(
        IBatchedQuery batch, string service, IEnumerable<(string Series, IEnumerable<(RollupGrain Grain, DateTimeOffset Start)> Segments)> series,
        Dictionary<string, WindowPlan>? plans)
    {
        var rollupIds = new HashSet<string>(StringComparer.Ordinal);
        var minutesByHourId = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var (endpoint, segmentList) in series)
        {
            foreach (var (grain, start) in segmentList)
            {
                if (grain != RollupGrain.Minute)
                {
                    rollupIds.Add(LatencyRollup.IdFor(service, endpoint, grain, start));
                    continue;
                }
                var hourId = MinuteRollups.IdFor(service, endpoint, LatencyRollup.StartOf(RollupGrain.Hour, start));
                if (!minutesByHourId.TryGetValue(hourId, out var minutes))
                {
                    minutes = [];
                    minutesByHourId.Add(hourId, minutes);
                }
                minutes.Add(start);
            }
        }
        return new RollupsLoading(
            service,
            rollupIds.Count == 0 ? null : batch.LoadMany<LatencyRollup>().ById(rollupIds.ToArray()),
            minutesByHourId.Count == 0 ? null : batch.LoadMany<MinuteRollups>().ById(minutesByHourId.Keys.ToArray()),
            minutesByHourId,
            plans);
    }
}

/// <summary>How one series of a load by window (<see cref="LatencyRollups.Load(IBatchedQuery, string, IReadOnlyList{string}, DateTimeOffset, DateTimeOffset)"/>) is read.</summary>
public sealed record WindowPlan(DateTimeOffset From, DateTimeOffset To, List<RollupSegment> Segments);

public sealed class RollupsLoading(
    string service, Task<IReadOnlyList<LatencyRollup>>? rollups, Task<IReadOnlyList<MinuteRollups>>? hours,
    Dictionary<string, List<DateTimeOffset>> minutesByHourId, Dictionary<string, WindowPlan>? plans)
{
    /// <summary>
    /// After the batch ran, for a load by window: adds one series' requests, errors and latency over the window, the
    /// parts of a month outside it taken away. A month whose rollup is missing (no traffic, or days folded before
    /// months were kept) is read again from its days, in one more round trip.
    /// </summary>
    public async Task<(long Requests, long Errors)> AddTotalsAsync(IQuerySession session, string series, LatencyHistogram latency, CancellationToken ct)
    {
        var plan = plans?[series] ?? throw new InvalidOperationException("Totals are read from a load by window");
        var found = await ResultAsync(session, series, ct);
        var months = plan.Segments.Where(s => s.Grain == RollupGrain.Month).Select(s => s.Start).ToList();
        if (months.Exists(month => !found.Exists(r => r.Grain == RollupGrain.Month && r.Start == month)))
        {
            found = await LatencyRollups.LoadAsync(session, service, series, RollupPlan.Cover(plan.From, plan.To), ct);
            plan = plan with { Segments = [] };
        }
        var subtracted = plan.Segments.Where(s => s.Subtracted).Select(s => (s.Grain, s.Start)).ToHashSet();
        long requests = 0, errors = 0;
        List<byte[]>? takenAway = null;
        foreach (var rollup in found)
        {
            if (subtracted.Contains((rollup.Grain, rollup.Start)))
            {
                requests -= rollup.Requests;
                errors -= rollup.Errors;
                (takenAway ??= []).Add(rollup.Latency);
                continue;
            }
            requests += rollup.Requests;
            errors += rollup.Errors;
            latency.AddEncoded(rollup.Latency);
        }
        // Only once everything is added: what is taken away is then always there.
        foreach (var histogram in takenAway ?? [])
        {
            latency.SubtractEncoded(histogram);
        }
        return (requests, errors);
    }

    /// <summary>
    /// After the batch ran: the rollups found, minutes as rollups of their own. An endpoint's (or a customer's) minutes
    /// take their histograms from the events that carried them (one more round trip, only when such minutes are asked for).
    /// For a load of one series; with several, ask for each (<see cref="ResultAsync(IQuerySession, string, CancellationToken)"/>).
    /// </summary>
    public Task<List<LatencyRollup>> ResultAsync(IQuerySession session, CancellationToken ct) => ResultAsync(session, null, ct);

    /// <summary>As <see cref="ResultAsync(IQuerySession, CancellationToken)"/>, for one of the series loaded together.</summary>
    public async Task<List<LatencyRollup>> ResultAsync(IQuerySession session, string? series, CancellationToken ct)
    {
        var result = rollups is null ? [] : (await rollups).Where(r => series is null || r.Endpoint == series).ToList();
        if (hours is null)
        {
            return result;
        }
        var fromEvents = new Dictionary<DateTimeOffset, LatencyRollup>();
        var sequences = new HashSet<long>();
        foreach (var hour in (await hours).Where(h => series is null || h.Endpoint == series))
        {
            foreach (var minute in minutesByHourId[hour.Id])
            {
                if (hour.RollupOf(minute) is not { } rollup)
                {
                    continue;
                }
                result.Add(rollup);
                if (hour.FiguresOf(minute)!.Events is { } events)
                {
                    fromEvents[minute] = rollup;
                    sequences.UnionWith(events);
                }
            }
        }
        if (sequences.Count > 0)
        {
            await AddLatencyFromEventsAsync(session, fromEvents, sequences.ToArray(), ct);
        }
        return result;
    }

    /// <summary>
    /// After the batch ran: the rollups found of one of the series loaded together (all with null), minutes included,
    /// with their counts only (no event reads).
    /// </summary>
    public async Task<List<LatencyRollup>> CountsAsync(string? series = null)
    {
        var result = rollups is null ? [] : (await rollups).Where(r => series is null || r.Endpoint == series).ToList();
        foreach (var hour in (hours is null ? [] : await hours).Where(h => series is null || h.Endpoint == series))
        {
            foreach (var minute in minutesByHourId[hour.Id])
            {
                if (hour.RollupOf(minute) is { } rollup)
                {
                    result.Add(rollup);
                }
            }
        }
        return result;
    }

    private static async Task AddLatencyFromEventsAsync(
        IQuerySession session, Dictionary<DateTimeOffset, LatencyRollup> minutes, long[] sequences, CancellationToken ct)
    {
        var series = minutes.Values.First();
        var histograms = new Dictionary<DateTimeOffset, List<byte[]>>();
        var events = await session.Events.QueryAllRawEvents().Where(e => e.Sequence.IsOneOf(sequences)).ToListAsync(ct);
        foreach (var @event in events)
        {
            if (RollupSeries.Recorded(@event.Data) is not { } recorded || recorded.Service != series.Service || recorded.Series != series.Endpoint)
            {
                continue;
            }
            foreach (var minute in recorded.Minutes)
            {
                if (minutes.ContainsKey(minute.Minute))
                {
                    if (!histograms.TryGetValue(minute.Minute, out var list))
                    {
                        list = [];
                        histograms.Add(minute.Minute, list);
                    }
                    list.Add(minute.Latency);
                }
            }
        }
        var accumulator = new LatencyHistogram();
        foreach (var (minute, list) in histograms)
        {
            accumulator.Clear();
            foreach (var histogram in list)
            {
                accumulator.AddEncoded(histogram);
            }
            minutes[minute].Latency = accumulator.Encode();
        }
    }
}
