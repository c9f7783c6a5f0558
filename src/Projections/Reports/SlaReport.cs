namespace MaestroSla.Projections.Reports;

/// <summary>One target against its actual value, as in the monthly report users know.</summary>
public sealed record SlaMetricResult(string Metric, string Comparison, double Target, double? Actual, string Unit, bool Met);

public sealed record RequestFigures(long Total, long Errors, double? ErrorRatePercent, double AvailabilityPercent);

public sealed record LatencyFigures(double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms, double? P999Ms, double? MaxMs);

public sealed record UptimeFigures(double UptimePercent, TimeSpan Downtime, TimeSpan? Mtbf, TimeSpan? Mttr);

public sealed record DowntimeEvent(DateTimeOffset Start, DateTimeOffset End, TimeSpan Duration, IReadOnlyList<string> Sources);

/// <summary>How much of what the target allows has been used: bad requests, or minutes down.</summary>
public sealed record ErrorBudget(string Basis, double Allowed, double Consumed, double? ConsumedPercent, double? RemainingPercent);

/// <summary>
/// A service's SLA over [From, To): every target against its actual value, downtime, error budgets, and the event
/// sequence the figures were computed at. With AsOf set, only events recorded up to that moment count. With an
/// Endpoint, requests and latency are that endpoint's; downtime is always the service's.
/// </summary>
public sealed record SlaReport(
    string Service,
    string? Endpoint,
    string TimeZone,
    DateTimeOffset From,
    DateTimeOffset To,
    DateTimeOffset? AsOf,
    long ComputedAtSequence,
    string TargetsSource,
    bool OverallMet,
    IReadOnlyList<SlaMetricResult> Metrics,
    RequestFigures Requests,
    LatencyFigures Latency,
    UptimeFigures Uptime,
    int DowntimeEventCount,
    IReadOnlyList<DowntimeEvent> DowntimeEvents,
    ErrorBudget ErrorBudget,
    ErrorBudget DowntimeBudget);
