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
        var (cursor, end) = Minutes(from, to);
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

    /// <summary>
    /// The same window for a series with month rollups (<see cref="LatencyRollup.HasMonths"/>): the part of a UTC month
    /// inside the window is read as the month's rollup less the hours and days of it outside the window, when that takes
    /// fewer documents — a month in America/New_York is November's rollup less four hours, plus five hours of December:
    /// ten documents instead of fifty-four. Counts are integers, so the difference is exact
    /// (<see cref="Contracts.Latency.LatencyHistogram.SubtractEncoded"/>).
    /// </summary>
    /// <remarks>
    /// Only whole hours and days are taken away, never minutes: they are rollup documents of the same table as the
    /// month, read by the same statement, so they come from the same snapshot and the month always holds them. Minutes
    /// live in other documents, read by another statement that could see a page the month's statement did not.
    /// </remarks>
    public static List<RollupSegment> CoverWithMonths(DateTimeOffset from, DateTimeOffset to)
    {
        var (cursor, end) = Minutes(from, to);
        var segments = new List<RollupSegment>();
        while (cursor < end)
        {
            var month = LatencyRollup.StartOf(RollupGrain.Month, cursor);
            var monthEnd = month.AddMonths(1);
            var partEnd = monthEnd < end ? monthEnd : end;
            var inside = Cover(cursor, partEnd);
            var outside = Cover(month, cursor).Concat(Cover(partEnd, monthEnd)).ToList();
            if (outside.TrueForAll(s => s.Grain != RollupGrain.Minute) && 1 + outside.Count < Documents(inside))
            {
                segments.Add(new RollupSegment(RollupGrain.Month, month, Subtracted: false));
                segments.AddRange(outside.Select(s => new RollupSegment(s.Grain, s.Start, Subtracted: true)));
            }
            else
            {
                segments.AddRange(inside.Select(s => new RollupSegment(s.Grain, s.Start, Subtracted: false)));
            }
            cursor = partEnd;
        }
        return segments;
    }

    /// <summary>Documents a plan reads: one per hour or day, one per hour of minutes (<see cref="MinuteRollups"/>).</summary>
    private static int Documents(List<(RollupGrain Grain, DateTimeOffset Start)> segments) =>
        segments.Count(s => s.Grain != RollupGrain.Minute)
        + segments.Where(s => s.Grain == RollupGrain.Minute).Select(s => LatencyRollup.StartOf(RollupGrain.Hour, s.Start)).Distinct().Count();

    private static (DateTimeOffset Start, DateTimeOffset End) Minutes(DateTimeOffset from, DateTimeOffset to)
    {
        var end = LatencyRollup.StartOf(RollupGrain.Minute, to);
        return (LatencyRollup.StartOf(RollupGrain.Minute, from), end < to ? end.AddMinutes(1) : end);
    }

    private static bool Fits(RollupGrain grain, DateTimeOffset cursor, DateTimeOffset end) =>
        LatencyRollup.StartOf(grain, cursor) == cursor && cursor + LatencyRollup.Length(grain) <= end;
}

/// <summary>One rollup of a plan: added to the window's figures, or taken away from the month it is part of.</summary>
public readonly record struct RollupSegment(RollupGrain Grain, DateTimeOffset Start, bool Subtracted);
