using MaestroSla.Projections.Latency;
using Marten;

namespace MaestroSla.Api.Alerts;

/// <summary>Requests and errors of one service per alert window, summed from its service-level ("*") rollups.</summary>
public sealed record AlertWindows(string Service, DateTimeOffset End, IReadOnlyDictionary<TimeSpan, WindowCounts> Counts)
{
    /// <summary>
    /// Each window ends with the minute holding <paramref name="at"/>: the minute in progress counts, because a page
    /// should see errors as soon as they are stored, and its ratio is a ratio even when the minute is partial.
    /// </summary>
    public static DateTimeOffset EndFor(DateTimeOffset at) => LatencyRollup.StartOf(RollupGrain.Minute, at).AddMinutes(1);

    public static async Task<AlertWindows> LoadAsync(
        IQuerySession session, string service, DateTimeOffset at, IReadOnlyList<TimeSpan> windows, CancellationToken ct)
    {
        var end = EndFor(at.ToUniversalTime());
        var idsByWindow = new Dictionary<TimeSpan, List<string>>(windows.Count);
        var allIds = new HashSet<string>(StringComparer.Ordinal);
        var minuteIds = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var window in windows)
        {
            var ids = new List<string>();
            foreach (var (grain, start) in RollupPlan.Cover(end - window, end))
            {
                var id = LatencyRollup.IdFor(service, LatencyRollup.AllEndpoints, grain, start);
                ids.Add(id);
                allIds.Add(id);
                if (grain == RollupGrain.Minute)
                {
                    minuteIds[id] = start;
                }
            }
            idsByWindow[window] = ids;
        }

        // Overlapping windows tile differently, so the rollups are fetched once for all of them; for hours and days
        // only the counts travel, not the histograms (a 3-day window alone touches ~170 rollups).
        var keys = allIds.Where(id => !minuteIds.ContainsKey(id)).ToArray();
        var rows = keys.Length == 0 ? [] : await session.Query<LatencyRollup>()
            .Where(r => r.Id.IsOneOf(keys))
            .Select(r => new RollupCounts { Id = r.Id, Requests = r.Requests, Errors = r.Errors })
            .ToListAsync(ct);
        var byId = new Dictionary<string, RollupCounts>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            byId[row.Id] = row;
        }
        var hourIds = minuteIds.Values.Select(m => MinuteRollups.IdFor(service, LatencyRollup.AllEndpoints, LatencyRollup.StartOf(RollupGrain.Hour, m))).Distinct().ToArray();
        foreach (var hour in hourIds.Length == 0 ? [] : await session.LoadManyAsync<MinuteRollups>(ct, hourIds))
        {
            for (var index = 0; index < MinuteRollups.MinutesPerHour; index++)
            {
                if (hour.Minutes[index] is { } figures)
                {
                    var id = LatencyRollup.IdFor(service, LatencyRollup.AllEndpoints, RollupGrain.Minute, hour.Hour.AddMinutes(index));
                    byId[id] = new RollupCounts { Id = id, Requests = figures.Requests, Errors = figures.Errors };
                }
            }
        }

        var counts = new Dictionary<TimeSpan, WindowCounts>(windows.Count);
        foreach (var (window, ids) in idsByWindow)
        {
            long requests = 0, errors = 0;
            foreach (var id in ids)
            {
                if (byId.TryGetValue(id, out var row))
                {
                    requests += row.Requests;
                    errors += row.Errors;
                }
            }
            counts[window] = new WindowCounts(requests, errors);
        }
        return new AlertWindows(service, end, counts);
    }

    private sealed class RollupCounts
    {
        public string Id { get; set; } = "";
        public long Requests { get; set; }
        public long Errors { get; set; }
    }
}
