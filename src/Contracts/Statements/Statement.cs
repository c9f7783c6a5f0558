using MaestroSla.Contracts.Reports;

namespace MaestroSla.Contracts.Statements;

// What the API answers for a customer's monthly statement: built by src/Sla/Statements, read by the CLI.

/// <summary>A figure as measured (Raw) and with maintenance left out as the contract says (Adjusted); null: no data.</summary>
public sealed record RawAndAdjusted(double? Raw, double? Adjusted);

/// <summary>A contract target against the adjusted figure (combined: of the services together; each: the worst service's).</summary>
public sealed record StatementMetric(string Metric, string Comparison, double Target, double? Actual, string Unit, bool? Met, string Status);

/// <summary>
/// The figures of one service (or of the services combined) over the statement's period. Requests, errors and
/// downtime are raw; Excluded* is the part inside maintenance windows that the contract leaves out.
/// </summary>
public sealed record StatementFigures(
    string Service,
    RawAndAdjusted UptimePercent,
    RawAndAdjusted AvailabilityPercent,
    RawAndAdjusted ErrorRatePercent,
    RawAndAdjusted LatencyP95Ms,
    RawAndAdjusted LatencyP99Ms,
    long Requests,
    long ExcludedRequests,
    long Errors,
    long ExcludedErrors,
    double DowntimeSeconds,
    double ExcludedDowntimeSeconds,
    double MaintenanceSeconds,
    bool? Met,
    string Status);

/// <summary>When and by whom the statement was issued; Sha256 is of the issued document (absent inside it: it cannot hold its own hash).</summary>
public sealed record StatementIssue(DateTimeOffset At, string By, DateTimeOffset AsOf, string? Sha256);

/// <summary>One figure that changed since issue.</summary>
public sealed record FigureChange(string Figure, double? Before, double? After);

/// <summary>
/// What changed since the statement was issued, from the events recorded after it, in the order they were recorded:
/// Kind is "late requests", "downtime", "maintenance added", "maintenance cancelled", "maintenance calendar imported"
/// or "contract version". Before and after are the statement just before and just after these events.
/// </summary>
public sealed record StatementAmendment(
    string Kind, string Description, int Events, DateTimeOffset FirstRecordedAt, DateTimeOffset LastRecordedAt,
    IReadOnlyList<FigureChange> Changes, double? CreditPercentBefore, double? CreditPercentAfter, bool? MetBefore, bool? MetAfter);

/// <summary>
/// A customer's statement for a calendar month in the contract's time zone: the contract version in force, every target
/// against its adjusted figure, the service credit, and per service raw and adjusted figures. Status is final, or
/// partial for the month in progress (PeriodEnd = now to the minute, ScheduledEnd = the month's end).
/// </summary>
public sealed record Statement(
    string Customer,
    string Month,
    string TimeZone,
    string Status,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    DateTimeOffset? ScheduledEnd,
    DateTimeOffset? AsOf,
    int ContractVersion,
    string Measure,
    bool ExcludeDowntime,
    bool ExcludeRequests,
    bool? Met,
    string Overall,
    string? CreditMetric,
    double? CreditMetricActual,
    double? CreditPercent,
    IReadOnlyList<StatementMetric> Metrics,
    StatementFigures? Combined,
    IReadOnlyList<StatementFigures> Services,
    IReadOnlyList<MaintenanceOccurrence> MaintenanceWindows,
    StatementIssue? Issued,
    IReadOnlyList<StatementAmendment> Amendments)
{
    /// <summary>
    /// The contract's customerId: the customer inside the services whose requests alone the figures count (downtime is
    /// the services'). Absent when every request counts, so such statements, issued ones included, read as before.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? CustomerId { get; init; }
}
