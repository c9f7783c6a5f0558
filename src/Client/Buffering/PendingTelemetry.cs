using MaestroSla.Contracts.Messages;

namespace MaestroSla.Client.Buffering;

/// <summary>
/// One message waiting to be sent. A request stays fields (a struct in the channel's ring buffer, so the request path
/// allocates nothing) until the sender writes it; downtime and health, which are rare, arrive already written.
/// </summary>
internal readonly record struct PendingTelemetry(
    string Service, string Endpoint, long LatencyMicros, int Status, DateTimeOffset At, byte[]? Written, string? Customer = null)
{
    public static PendingTelemetry Request(string service, string endpoint, long latencyMicros, int status, DateTimeOffset at, string? customer) =>
        new(service, endpoint, latencyMicros, status, at, null, customer);

    public static PendingTelemetry Message(string service, byte[] written) => new(service, "", 0, 0, default, written);

    /// <summary>The version-1 wire message (whole microseconds in milliseconds: the decoder reads back the same microseconds).</summary>
    public byte[] ToMessage() => Written ?? TelemetryWriter.Request(Service, Endpoint, LatencyMicros / 1000.0, Status, At, customer: Customer);
}
