using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;

namespace MaestroSla.Projections.Uptime;

/// <summary>Consecutive checks of one component with the same outcome: failing (down) or not.</summary>
public readonly record struct HealthRun(string Component, bool Down, DateTimeOffset First, int Count);

public static class HealthDowntime
{
    /// <summary>
    /// Downtime seen by health checks: a component failing <paramref name="threshold"/> or more consecutive
    /// checks is down from its first failing check until the next passing one (or <paramref name="until"/> when
    /// none came). A single failed check is noise; degraded counts as up.
    /// </summary>
    public static List<(Interval Interval, string Component)> Derive(IEnumerable<HealthChecked> checks, int threshold, DateTimeOffset until) =>
        Derive(Runs(checks), threshold, until);

    /// <summary>The same from runs, e.g. runs of separate days: adjacent runs with the same outcome join first.</summary>
    public static List<(Interval Interval, string Component)> Derive(IEnumerable<HealthRun> runs, int threshold, DateTimeOffset until)
    {
        var intervals = new List<(Interval, string)>();
        foreach (var component in runs.GroupBy(r => r.Component, StringComparer.Ordinal))
        {
            var joined = Join(component.OrderBy(r => r.First));
            for (var i = 0; i < joined.Count; i++)
            {
                var run = joined[i];
                if (!run.Down || run.Count < threshold)
                {
                    continue;
                }
                if (i + 1 < joined.Count)
                {
                    intervals.Add((new Interval(run.First, joined[i + 1].First), component.Key));
                }
                else if (run.First < until)
                {
                    intervals.Add((new Interval(run.First, until), component.Key));
                }
            }
        }
        return intervals;
    }

    /// <summary>The checks as maximal runs per component, in time order.</summary>
    public static List<HealthRun> Runs(IEnumerable<HealthChecked> checks)
    {
        var runs = new List<HealthRun>();
        foreach (var component in checks.GroupBy(c => c.Component, StringComparer.Ordinal))
        {
            runs.AddRange(Join(component.OrderBy(c => c.CheckedAt).Select(c => new HealthRun(component.Key, c.Status == HealthState.Unhealthy, c.CheckedAt, 1))));
        }
        return runs;
    }

    private static List<HealthRun> Join(IEnumerable<HealthRun> ordered)
    {
        var joined = new List<HealthRun>();
        foreach (var run in ordered)
        {
            if (joined.Count > 0 && joined[^1].Down == run.Down)
            {
                joined[^1] = joined[^1] with { Count = joined[^1].Count + run.Count };
            }
            else
            {
                joined.Add(run);
            }
        }
        return joined;
    }
}
