using MaestroSla.Projections.Reports;
using MaestroSla.Projections.Uptime;

namespace MaestroSla.Projections.Maintenance;

/// <summary>
/// A report's uptime with the service's maintenance windows left out, beside the raw figure (which the report keeps
/// unchanged): the occurrences applied, and <see cref="AdjustedUptime"/> over the report's period.
/// </summary>
public sealed record MaintenanceFigures(
    IReadOnlyList<MaintenanceOccurrence> Windows, double MaintenanceSeconds, double DowntimeSeconds, double ExcludedDowntimeSeconds,
    double? UptimePercentRaw, double? UptimePercentAdjusted, bool? UptimeMetAdjusted)
{
    /// <summary>Null when no window overlaps the report's period.</summary>
    public static MaintenanceFigures? Of(SlaReport report, IReadOnlyList<MaintenanceWindow> windows)
    {
        if (windows.Count == 0)
        {
            return null;
        }
        var occurrences = MaintenanceSchedule.Occurrences(windows, report.From, report.To);
        if (occurrences.Count == 0)
        {
            return null;
        }
        var maintenance = MaintenanceSchedule.Union(occurrences, report.From, report.To);
        var downtime = report.DowntimeEvents.Select(e => new Interval(e.Start, e.End)).ToList();
        var uptime = AdjustedUptime.Of(report.From, report.To, maintenance, downtime);
        // Without any signal the report has no uptime; leaving maintenance out does not create one.
        var measured = report.Uptime.UptimePercent is not null;
        var target = report.Metrics.FirstOrDefault(m => m.Metric == "uptime")?.Target;
        var adjusted = measured ? uptime.AdjustedPercent : null;
        return new MaintenanceFigures(
            occurrences, uptime.Maintenance.TotalSeconds, uptime.Downtime.TotalSeconds, uptime.ExcludedDowntime.TotalSeconds,
            report.Uptime.UptimePercent, adjusted, adjusted is { } value && target is { } goal ? value >= goal : null);
    }
}
