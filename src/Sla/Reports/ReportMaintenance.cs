using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;

namespace MaestroSla.Sla.Reports;

/// <summary>A report's <see cref="MaintenanceFigures"/>: the service's windows applied to its period by <see cref="AdjustedUptime"/>.</summary>
public static class ReportMaintenance
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
