using Marten;

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
        var rollupIds = new HashSet<string>(StringComparer.Ordinal);
        var minutesByHourId = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var (grain, start) in segments)
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

        var batch = session.CreateBatchQuery();
        var rollupsLoaded = rollupIds.Count == 0 ? null : batch.LoadMany<LatencyRollup>().ById(rollupIds.ToArray());
        var hoursLoaded = minutesByHourId.Count == 0 ? null : batch.LoadMany<MinuteRollups>().ById(minutesByHourId.Keys.ToArray());
        if (rollupsLoaded is null && hoursLoaded is null)
        {
            return [];
        }
        await batch.Execute(ct);

        var rollups = rollupsLoaded is null ? [] : (await rollupsLoaded).ToList();
        if (hoursLoaded is not null)
        {
            foreach (var hour in await hoursLoaded)
            {
                foreach (var minute in minutesByHourId[hour.Id])
                {
                    if (hour.RollupOf(minute) is { } rollup)
                    {
                        rollups.Add(rollup);
                    }
                }
            }
        }
        return rollups;
    }
}
