using JasperFx.Events.Projections;
using Marten;

namespace MaestroSla.Api.Alerts;

public static class AlertsStoreConfiguration
{
    /// <summary>Alert events under explicit aliases that must never change, and the active alerts per service.</summary>
    public static StoreOptions ConfigureSlaAlerts(this StoreOptions options)
    {
        options.Events.MapEventType<SlaAlertRaised>("sla_alert_raised");
        options.Events.MapEventType<SlaAlertResolved>("sla_alert_resolved");

        // Inline: the evaluation that appends alert events reads this snapshot for its next decision, and the
        // alerts API must show an alert as soon as it was raised.
        options.Projections.Snapshot<ServiceAlerts>(SnapshotLifecycle.Inline);
        return options;
    }
}
