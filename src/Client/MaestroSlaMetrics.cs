namespace MaestroSla.Client;

/// <summary>
/// The client's own metrics (System.Diagnostics.Metrics, meter "MaestroSla.Client"): export them with the app's
/// OpenTelemetry or Prometheus setup. After the app stops, recorded = sent + dropped{reason≠buffer_full,stopped,over_latency_limit}.
/// </summary>
public static class MaestroSlaMetrics
{
    public const string MeterName = "MaestroSla.Client";

    /// <summary>Counter: messages taken into the buffer.</summary>
    public const string Recorded = "maestrosla.client.recorded";

    /// <summary>Counter: messages MaestroSla (HTTP 200) or the Kafka broker acknowledged.</summary>
    public const string Sent = "maestrosla.client.sent";

    /// <summary>Counter: messages given up, tagged <see cref="ReasonTag"/>.</summary>
    public const string Dropped = "maestrosla.client.dropped";

    /// <summary>Up-down counter: messages waiting in the buffer.</summary>
    public const string Buffered = "maestrosla.client.buffered";

    public const string ReasonTag = "reason";

    public static class Reasons
    {
        /// <summary>The buffer was full (MaestroSla or Kafka slower than the app, or away): never recorded.</summary>
        public const string BufferFull = "buffer_full";

        /// <summary>Recorded after the client had stopped (a request finishing during shutdown): never recorded.</summary>
        public const string Stopped = "stopped";

        /// <summary>A request longer than MaestroSla accepts (5 minutes: a WebSocket, a long poll): never recorded.</summary>
        public const string OverLatencyLimit = "over_latency_limit";

        /// <summary>Retries exhausted, a network or broker failure, or the host's shutdown timeout reached.</summary>
        public const string SendFailed = "send_failed";

        /// <summary>MaestroSla refused the batch (400, 401, 403, 413, 422): retrying it unchanged cannot help.</summary>
        public const string Rejected = "rejected";
    }
}
