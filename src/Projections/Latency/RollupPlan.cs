namespace MaestroSla.Projections.Latency;

/// <summary>
/// Covers [from, to) with whole UTC days where they fit, whole hours at the edges and minutes at the outer
/// edges: O(days + hours + minutes) rollups instead of one per minute. Latency windows resolve to whole minutes:
/// from is rounded down and to rounded up to the minute.
/// </summary>
public static class RollupPlan
{
    public static List<(RollupGrain Grain, DateTimeOffset Start)> Cover(DateTimeOffset from, DateTimeOffset to)
    {
        var cursor = LatencyRollup.StartOf(RollupGrain.Minute, from);
        var end = LatencyRollup.StartOf(RollupGrain.Minute, to);
        if (end < to)
        {
            end = end.AddMinutes(1);
        }

        var segments = new List<(RollupGrain, DateTimeOffset)>();
        while (cursor < end)
        {
            var grain = Fits(RollupGrain.Day, cursor, end) ? RollupGrain.Day
                : Fits(RollupGrain.Hour, cursor, end) ? RollupGrain.Hour
                : RollupGrain.Minute;
            segments.Add((grain, cursor));
            cursor += LatencyRollup.Length(grain);
        }
        return segments;
    }

    private static bool Fits(RollupGrain grain, DateTimeOffset cursor, DateTimeOffset end) =>
        LatencyRollup.StartOf(grain, cursor) == cursor && cursor + LatencyRollup.Length(grain) <= end;
}
