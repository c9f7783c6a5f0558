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
        return await loading.ResultAsync();
    }

    /// <summary>The same as part of a batch the caller executes (with other reads of the same request).</summary>
    public static RollupsLoading Load(
        IBatchedQuery batch, string service, string endpoint, IEnumerable<(RollupGrain Grain, DateTimeOffset Start)> segments)
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
        return new RollupsLoading(
            rollupIds.Count == 0 ? null : batch.LoadMany<LatencyRollup>().ById(rollupIds.ToArray()),
            minutesByHourId.Count == 0 ? null : batch.LoadMany<MinuteRollups>().ById(minutesByHourId.Keys.ToArray()),
            minutesByHourId);
    }
}

public sealed class RollupsLoading(
    Task<IReadOnlyList<LatencyRollup>>? rollups, Task<IReadOnlyList<MinuteRollups>>? hours, Dictionary<string, List<DateTimeOffset>> minutesByHourId)
{
    /// <summary>After the batch ran: the rollups found, minutes as rollups of their own.</summary>
    public async Task<List<LatencyRollup>> ResultAsync()
    {
        var result = rollups is null ? [] : (await rollups).ToList();
        if (hours is not null)
        {
            foreach (var hour in await hours)
            {
                foreach (var minute in minutesByHourId[hour.Id])
                {
                    if (hour.RollupOf(minute) is { } rollup)
                    {
                        result.Add(rollup);
                    }
                }
            }
        }
        return result;
    }
}
