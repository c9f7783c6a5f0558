using MaestroSla.Projections.Uptime;

namespace MaestroSla.Projections.Maintenance;

/// <summary>
/// Uptime with maintenance left out, beside the raw figure. With P the period, M the union of maintenance windows
/// clipped to P and D the union of downtime: raw = (|P| − |D|) / |P|; adjusted = (|P| − |M| − |D \ M|) / (|P| − |M|).
/// Downtime inside a window is excluded (ExcludedDowntime = |D ∩ M|), not forgiven twice: the window's time leaves
/// the denominator as well. A period entirely in maintenance has no adjusted uptime (null).
/// </summary>
public sealed record AdjustedUptime(
    TimeSpan Period, TimeSpan Maintenance, TimeSpan Downtime, TimeSpan CountedDowntime, TimeSpan ExcludedDowntime,
    double? RawPercent, double? AdjustedPercent)
{
    /// <param name="maintenance">M: sorted, disjoint, within the period (<see cref="DowntimeIntervals.MergeWithin"/>).</param>
    /// <param name="downtime">D: sorted, disjoint, within the period.</param>
    public static AdjustedUptime Of(DateTimeOffset from, DateTimeOffset to, List<Interval> maintenance, List<Interval> downtime)
    {
        var period = to - from;
        var m = DowntimeIntervals.Total(maintenance);
        var d = DowntimeIntervals.Total(downtime);
        var counted = DowntimeIntervals.Total(Minus(downtime, maintenance));
        var agreed = period - m;
        return new AdjustedUptime(
            period, m, d, counted, d - counted,
            period <= TimeSpan.Zero ? null : 100.0 * (period - d) / period,
            agreed <= TimeSpan.Zero ? null : 100.0 * (agreed - counted) / agreed);
    }

    /// <summary>A \ B for sorted, disjoint interval lists.</summary>
    public static List<Interval> Minus(List<Interval> a, List<Interval> b)
    {
        var result = new List<Interval>();
        var j = 0;
        foreach (var interval in a)
        {
            var start = interval.Start;
            while (j < b.Count && b[j].End <= start)
            {
                j++;
            }
            var k = j;
            while (k < b.Count && b[k].Start < interval.End)
            {
                if (b[k].Start > start)
                {
                    result.Add(new Interval(start, b[k].Start));
                }
                if (b[k].End > start)
                {
                    start = b[k].End;
                }
                k++;
            }
            if (start < interval.End)
            {
                result.Add(new Interval(start, interval.End));
            }
        }
        return result;
    }
}
