namespace MaestroSla.Contracts.Reports;

/// <summary>One occurrence of a window: [Start, End) in UTC.</summary>
public sealed record MaintenanceOccurrence(string Id, string Service, DateTimeOffset Start, DateTimeOffset End, string Reason, string Author, string Source);

/// <summary>
/// A report's uptime with the service's maintenance windows left out, beside the raw figure (which the report keeps
/// unchanged): the occurrences applied, and adjusted uptime over the report's period.
/// </summary>
public sealed record MaintenanceFigures(
    IReadOnlyList<MaintenanceOccurrence> Windows, double MaintenanceSeconds, double DowntimeSeconds, double ExcludedDowntimeSeconds,
    double? UptimePercentRaw, double? UptimePercentAdjusted, bool? UptimeMetAdjusted);
