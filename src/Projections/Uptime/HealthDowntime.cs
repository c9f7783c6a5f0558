using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;

namespace MaestroSla.Projections.Uptime;

public static class HealthDowntime
{
    /// <summary>
    /// Downtime seen by health checks: a component failing <paramref name="threshold"/> or more consecutive
    /// checks is down from its first failing check until the next passing one (or <paramref name="until"/> when
    /// none came). A single failed check is noise; degraded counts as up.
    /// </summary>
    public static List<(Interval Interval, string Component)> Derive(IEnumerable<HealthChecked> checks, int threshold, DateTimeOffset until)
    {
        var intervals = new List<(Interval, string)>();
        foreach (var component in checks.GroupBy(c => c.Component))
        {
            DateTimeOffset? firstFailure = null;
            var failures = 0;
            foreach (var check in component.OrderBy(c => c.CheckedAt))
            {
                if (check.Status == HealthState.Unhealthy)
                {
                    firstFailure ??= check.CheckedAt;
                    failures++;
                    continue;
                }
                if (failures >= threshold)
                {
                    intervals.Add((new Interval(firstFailure!.Value, check.CheckedAt), component.Key));
                }
                firstFailure = null;
                failures = 0;
            }
            if (failures >= threshold && firstFailure < until)
            {
                intervals.Add((new Interval(firstFailure.Value, until), component.Key));
            }
        }
        return intervals;
    }
}
