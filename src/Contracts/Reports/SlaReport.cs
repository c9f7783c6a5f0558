namespace MaestroSla.Contracts.Reports;

// What the API answers with for reports and status: built by src/Projections (SlaReportBuilder), read by the CLI.

/// <summary>
/// The verdict of a target, or of a whole report. "no data" is not "met": a period without requests (or without any
/// signal at all) shows no data for what it cannot measure rather than a target that was kept.
/// </summary>
public static class SlaStatus
{
    public const string Met = "met";
    public const string Breached = "breached";
    public const string NoData = "no data";

    public static bool? MetOf(string status) => status switch
    {
        Met => true,
        Breached => false,
        _ => null,
    };

    /// <summary>Breached when any target with data is breached; else no data when any target has none; else met.</summary>
    public static string Overall(IEnumerable<string> statuses)
    {
        var overall = Met;
        foreach (var status in statuses)
        {
            if (status == Breached)
            {
                return Breached;
            }
            if (status == NoData)
            {
                overall = NoData;
            }
        }
        return overall;
    }
}

/// <summary>One target against its actual value, as in the monthly report users know; Met is null with no data.</summary>
public sealed record SlaMetricResult(string Metric, string Comparison, double Target, double? Actual, string Unit, bool? Met, string Status);

/// <summary>Rates are null when the period had no requests.</summary>
public sealed record RequestFigures(long Total, long Errors, double? ErrorRatePercent, double? AvailabilityPercent);

public sealed record LatencyFigures(double? P50Ms, double? P90Ms, double? P95Ms, double? P99Ms, double? P999Ms, double? MaxMs);

/// <summary>UptimePercent is null when the period had no signal at all: no requests, downtime or health checks.</summary>
public sealed record UptimeFigures(double? UptimePercent, TimeSpan Downtime, TimeSpan? Mtbf, TimeSpan? Mttr);

public sealed record DowntimeEvent(DateTimeOffset Start, DateTimeOffset End, TimeSpan Duration, IReadOnlyList<string> Sources);

/// <summary>How much of what the target allows has been used: bad requests, or minutes down.</summary>
public sealed record ErrorBudget(string Basis, double Allowed, double Consumed, double? ConsumedPercent, double? RemainingPercent);

/// <summary>
/// A service's SLA over [From, To): every target against its actual value, downtime, error budgets, and the event
/// sequence the figures were computed at. With AsOf set, only events recorded up to that moment count. With an
/// Endpoint, requests and latency are that endpoint's; downtime is always the service's. Status is met, breached or
/// no data (<see cref="SlaStatus"/>); OverallMet is null with no data.
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
    bool? OverallMet,
    string Status,
    IReadOnlyList<SlaMetricResult> Metrics,
    RequestFigures Requests,
    LatencyFigures Latency,
    UptimeFigures Uptime,
    int DowntimeEventCount,
    IReadOnlyList<DowntimeEvent> DowntimeEvents,
    ErrorBudget ErrorBudget,
    ErrorBudget DowntimeBudget)
{
    /// <summary>
    /// Input the broker deleted before ingest read it, at a time that overlaps the period (any service's: which
    /// services it held is unknown). A report with gaps is not complete, whatever its figures say.
    /// </summary>
    public IReadOnlyList<InputGap> InputGaps { get; init; } = [];

    /// <summary>
    /// Requests of endpoints past the service's endpoint limit in the period, counted under the "(other)" endpoint
    /// (Ingest:Write:EndpointLimitPerService); 0 when the service stayed within it. Service-wide figures include them.
    /// </summary>
    public long RequestsOverEndpointLimit { get; init; }

    /// <summary>
    /// Requests of customers past the service's customer limit in the period, counted under the "(other)" customer
    /// (Ingest:Write:CustomerLimitPerService; report them with ?customer=(other)); 0 when the service stayed within it.
    /// In a service's report only: a customer's or an endpoint's says 0.
    /// </summary>
    public long RequestsOverCustomerLimit { get; init; }

    /// <summary>
    /// final, or partial for a period still in progress: then To is now (to the minute) and uptime, MTBF/MTTR and the
    /// budgets are over the elapsed time only; ScheduledTo is where the period will end.
    /// </summary>
    public string PeriodStatus { get; init; } = "final";

    public DateTimeOffset? ScheduledTo { get; init; }

    /// <summary>
    /// With a Customer (?customer=), requests and latency are that customer's, across the service's endpoints; downtime
    /// and uptime stay the service's. Absent from the JSON of a service's or an endpoint's report, which therefore reads as
    /// it always has.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Customer { get; init; }

    /// <summary>
    /// Uptime with the service's maintenance windows left out, beside the raw figures above (which stay as measured);
    /// null when no window overlaps the period.
    /// </summary>
    public MaintenanceFigures? Maintenance { get; init; }
}

/// <summary>Offsets of a partition deleted unread; produced some time between <see cref="From"/> (null: unknown) and <see cref="DetectedAt"/>.</summary>
public sealed record InputGap(string Topic, int Partition, long FirstMissingOffset, long LastMissingOffset, long Count, DateTimeOffset? From, DateTimeOffset DetectedAt);

/// <summary>One service against its targets; Status is met, breached or no data (then OverallMet is null).</summary>
public sealed record ServiceStatus(
    string Service, bool? OverallMet, string Status, IReadOnlyList<SlaMetricResult> Metrics, double? ErrorBudgetRemainingPercent);
