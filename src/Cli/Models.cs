namespace MaestroSla.Cli;

// The parts of the API's JSON the CLI prints (System.Text.Json web defaults: camelCase).
// The CLI is an HTTP client on purpose: it does not reference the server's assemblies (nor Marten).

/// <summary>Met is null and Status "no data" when the period had nothing to measure the target by.</summary>
public sealed record MetricResult(string Metric, string Comparison, double Target, double? Actual, string Unit, bool? Met, string Status);

public sealed record RequestFigures(long Total, long Errors, double? ErrorRatePercent, double? AvailabilityPercent);

public sealed record LatencyFigures(double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms, double? P999Ms, double? MaxMs);

public sealed record UptimeFigures(double? UptimePercent, TimeSpan Downtime, TimeSpan? Mtbf, TimeSpan? Mttr);

public sealed record DowntimeEvent(DateTimeOffset Start, DateTimeOffset End, TimeSpan Duration, IReadOnlyList<string> Sources);

public sealed record Budget(string Basis, double Allowed, double Consumed, double? ConsumedPercent, double? RemainingPercent);

public sealed record Report(
    string Service, string? Endpoint, string TimeZone, DateTimeOffset From, DateTimeOffset To, DateTimeOffset? AsOf,
    long ComputedAtSequence, string TargetsSource, bool? OverallMet, string Status, IReadOnlyList<MetricResult> Metrics,
    RequestFigures Requests, LatencyFigures Latency, UptimeFigures Uptime, int DowntimeEventCount,
    IReadOnlyList<DowntimeEvent> DowntimeEvents, Budget ErrorBudget, Budget DowntimeBudget);

public sealed record ServiceStatus(string Service, bool? OverallMet, string Status, IReadOnlyList<MetricResult> Metrics, double? ErrorBudgetRemainingPercent);

public sealed record Targets(double UptimePercent, double AvailabilityPercent, double P95Ms, double P99Ms, double ErrorRatePercent);

public sealed record EffectiveTargets(Targets Targets, string Source);

/// <summary>GET /api/status/months: the current month and the latest one with recorded requests (null: none yet).</summary>
public sealed record StatusMonths(string TimeZone, string Current, string? LatestWithData);
