using MaestroSla.Contracts.Events;
using Marten;

namespace MaestroSla.Ingest;

public static class TelemetryEventTypes
{
    /// <summary>
    /// Registers the telemetry events under explicit aliases, so that renaming or moving a CLR type can never
    /// orphan the events already stored.
    /// </summary>
    public static StoreOptions ConfigureTelemetryEvents(this StoreOptions options)
    {
        options.Events.MapEventType<RequestsRecorded>("requests_recorded");
        options.Events.MapEventType<CustomerRequestsRecorded>("customer_requests_recorded");
        options.Events.MapEventType<DowntimeRecorded>("downtime_recorded");
        options.Events.MapEventType<HealthChecked>("health_checked");
        options.Events.MapEventType<IngestGapDetected>("ingest_gap_detected");
        return options;
    }
}
