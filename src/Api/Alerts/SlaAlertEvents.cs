using System.Text.Json.Serialization;

namespace MaestroSla.Api.Alerts;

// The alert facts, one stream per service keyed "alerts|{service}" (see ServiceAlerts.StreamKeyFor).
// Never rename these types or their members: Marten stores their aliases (see AlertsStoreConfiguration).

// By name everywhere it is written (events, API, webhooks), as Marten already stores enums.
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    Page,
    Ticket,
}

/// <summary>
/// A burn-rate rule started to fire for a service at <paramref name="At"/>: over both of its windows the error
/// budget burned at least the rule's rate (burn rate = error ratio / (1 − availability target)).
/// </summary>
public sealed record SlaAlertRaised(
    string Service,
    string Rule,
    AlertSeverity Severity,
    double BurnRateLong,
    double BurnRateShort,
    TimeSpan LongWindow,
    TimeSpan ShortWindow,
    DateTimeOffset At);

/// <summary>A rule that had fired for a service no longer fires at <paramref name="At"/>.</summary>
public sealed record SlaAlertResolved(string Service, string Rule, DateTimeOffset At);
