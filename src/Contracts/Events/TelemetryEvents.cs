using MaestroSla.Contracts.Messages;

namespace MaestroSla.Contracts.Events;

// The immutable facts MaestroSla stores, one stream per service (stream key = service name).
// Never rename these types: Marten stores their aliases (see TelemetryEventTypes).

/// <summary>
/// Requests of one endpoint, aggregated per UTC minute by one ingest flush (Kafka or HTTP).
/// A minute may be covered by several events (several flushes, instances or late data): readers add them up.
/// </summary>
public sealed record RequestsRecorded(string Service, string Endpoint, IReadOnlyList<MinuteOfRequests> Minutes);

/// <summary>One minute of one endpoint: counts and the latency distribution (µs) as an encoded HDR histogram.</summary>
public sealed record MinuteOfRequests(DateTimeOffset Minute, long Requests, long Errors, byte[] Latency);

/// <summary>A service was down over [Start, End), as reported by the application or its monitor.</summary>
public sealed record DowntimeRecorded(string Service, DateTimeOffset Start, DateTimeOffset End, string Reason);

/// <summary>One health-check result of a component of a service.</summary>
public sealed record HealthChecked(string Service, string Component, HealthState Status, double LatencyMs, DateTimeOffset CheckedAt);
