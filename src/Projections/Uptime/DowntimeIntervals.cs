namespace MaestroSla.Projections.Uptime;

public readonly record struct Interval(DateTimeOffset Start, DateTimeOffset End)
{
    public TimeSpan Duration => End - Start;
}

public static class DowntimeIntervals
{
    /// <summary>
    /// Clips intervals to [from, to) and merges overlapping or adjacent ones, so that a minute reported down by
    /// two monitors counts once. The result is sorted and disjoint.
    /// </summary>
    public static List<Interval> MergeWithin(IEnumerable<Interval> intervals, DateTimeOffset from, DateTimeOffset to)
    {
        var clipped = new List<Interval>();
        foreach (var interval in intervals)
        {
            var start = interval.Start < from ? from : interval.Start;
            var end = interval.End > to ? to : interval.End;
            if (end > start)
            {
                clipped.Add(new Interval(start, end));
            }
        }
        clipped.Sort(static (a, b) => a.Start.CompareTo(b.Start));

        var merged = new List<Interval>(clipped.Count);
        foreach (var interval in clipped)
        {
            if (merged.Count > 0 && interval.Start <= merged[^1].End)
            {
                var last = merged[^1];
                merged[^1] = last with { End = interval.End > last.End ? interval.End : last.End };
            }
            else
            {
                merged.Add(interval);
            }
        }
        return merged;
    }

    public static TimeSpan Total(List<Interval> merged)
    {
        var total = TimeSpan.Zero;
        foreach (var interval in merged)
        {
            total += interval.Duration;
        }
        return total;
    }
}
