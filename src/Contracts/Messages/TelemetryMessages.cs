namespace MaestroSla.Contracts.Messages;

public enum MessageKind
{
    Request,
    Downtime,
    Health,
}

public enum HealthState
{
    Healthy,
    Degraded,
    Unhealthy,
}

/// <summary>One served request as reported by an application; the firehose of the pipeline.</summary>
/// <param name="StatusCode">Absent when the application reported only the error flag.</param>
/// <param name="Timestamp">Always UTC (offset zero).</param>
/// <param name="Customer">The customer of a multi-tenant service the request was served for; null when not told.</param>
public readonly record struct RequestMetric(
    string Service,
    string Endpoint,
    long LatencyMicros,
    int? StatusCode,
    bool IsError,
    DateTimeOffset Timestamp,
    string? Customer = null);

/// <param name="Start">Always UTC (offset zero).</param>
/// <param name="End">Always UTC and strictly after <paramref name="Start"/>.</param>
public sealed record DowntimeInterval(string Service, DateTimeOffset Start, DateTimeOffset End, string Reason);

/// <param name="Timestamp">Always UTC (offset zero).</param>
public sealed record HealthResult(
    string Service,
    string Component,
    HealthState Status,
    double LatencyMs,
    DateTimeOffset Timestamp);
