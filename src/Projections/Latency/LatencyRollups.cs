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
        var rollupIds = new HashSet<string>(StringComparer.Ordinal);
        var minutesByHourId = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        var segmentList = segments as IReadOnlyCollection<(RollupGrain Grain, DateTimeOffset Start)> ?? segments.ToList();
        foreach (var endpoint in series)
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
            rollupIds.Count == 0 ? null : batch.LoadMany<LatencyRollup>().ById(rollupIds.ToArray()),
            minutesByHourId.Count == 0 ? null : batch.LoadMany<MinuteRollups>().ById(minutesByHourId.Keys.ToArray()),
            minutesByHourId);
    }
}

public sealed class RollupsLoading(
    Task<IReadOnlyList<LatencyRollup>>? rollups, Task<IReadOnlyList<MinuteRollups>>? hours, Dictionary<string, List<DateTimeOffset>> minutesByHourId)
{
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
