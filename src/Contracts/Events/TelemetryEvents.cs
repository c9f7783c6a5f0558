using MaestroSla.Contracts.Messages;

namespace MaestroSla.Contracts.Events;

// The immutable facts MaestroSla stores, in streams per (service, writer slot): see IngestStreams.
// Never rename these types: Marten stores their aliases (see TelemetryEventTypes).

/// <summary>
/// Requests of one endpoint, aggregated per UTC minute by one ingest flush (Kafka or HTTP).
/// A minute may be covered by several events (several flushes, instances or late data): readers add them up.
/// </summary>
public sealed record RequestsRecorded(string Service, string Endpoint, IReadOnlyList<MinuteOfRequests> Minutes);

/// <summary>
/// Requests of one customer of a multi-tenant service (the request messages' optional <c>customer</c>), aggregated
/// per UTC minute by one ingest flush, across the service's endpoints. Stored beside the <see cref="RequestsRecorded"/>
/// of the same requests, in the same transaction: the endpoint events stay complete, these add the customer's view.
/// </summary>
public sealed record CustomerRequestsRecorded(string Service, string Customer, IReadOnlyList<MinuteOfRequests> Minutes);

/// <summary>One minute of one endpoint: counts and the latency distribution (µs) as an encoded HDR histogram.</summary>
public sealed record MinuteOfRequests(DateTimeOffset Minute, long Requests, long Errors, byte[] Latency);

/// <summary>A service was down over [Start, End), as reported by the application or its monitor.</summary>
public sealed record DowntimeRecorded(string Service, DateTimeOffset Start, DateTimeOffset End, string Reason);

/// <summary>One health-check result of a component of a service.</summary>
public sealed record HealthChecked(string Service, string Component, HealthState Status, double LatencyMs, DateTimeOffset CheckedAt);

/// <summary>
/// Kafka offsets <see cref="FirstMissingOffset"/>..<see cref="LastMissingOffset"/> of a partition were no longer on
/// the broker when ingest came to read them (retention or the embedded broker's size limit deleted them unread):
/// their requests, downtime and health results are missing from the store. The data they held was produced between
/// <see cref="LastStoredAt"/> (the partition's previous store; null for a partition never read before) and
/// <see cref="DetectedAt"/>, as far as ingest can tell, so reports over any period that overlaps that span say so.
/// Of offsets below the partition's read position, only requests of minutes still open had not been stored yet.
/// </summary>
public sealed record IngestGapDetected(
    string Topic, int Partition, long FirstMissingOffset, long LastMissingOffset, long Count,
    DateTimeOffset? LastStoredAt, DateTimeOffset DetectedAt);
