namespace MaestroSla.Api.Alerts;

/// <summary>One rule firing for one service since <see cref="Since"/>, with the burn rates seen when it was raised.</summary>
public sealed record ActiveSlaAlert(
    string Service,
    string Rule,
    AlertSeverity Severity,
    double BurnRateLong,
    double BurnRateShort,
    TimeSpan LongWindow,
    TimeSpan ShortWindow,
    DateTimeOffset Since);

/// <summary>
/// The alerts currently active for one service: an inline snapshot of its alert stream, updated in the same
/// transaction that appends the alert events, so the evaluation reading it never sees a stale state.
/// </summary>
public sealed class ServiceAlerts
{
    /// <summary>The alert stream's key. A '|' never occurs in a service name, so it cannot collide with one.</summary>
    public static string StreamKeyFor(string service) => "alerts|" + service;

    public string Id { get; set; } = "";
    public string Service { get; set; } = "";
    public List<ActiveSlaAlert> Active { get; set; } = [];

    /// <summary>When the last alert of this service was raised or resolved.</summary>
    public DateTimeOffset LastChangeAt { get; set; }

    public void Apply(SlaAlertRaised raised)
    {
        Service = raised.Service;
        Active.RemoveAll(a => a.Rule == raised.Rule);
        Active.Add(new ActiveSlaAlert(
            raised.Service, raised.Rule, raised.Severity, raised.BurnRateLong, raised.BurnRateShort, raised.LongWindow, raised.ShortWindow, raised.At));
        LastChangeAt = raised.At;
    }

    public void Apply(SlaAlertResolved resolved)
    {
        Service = resolved.Service;
        Active.RemoveAll(a => a.Rule == resolved.Rule);
        LastChangeAt = resolved.At;
    }

    /// <summary>
    /// The events that move the service's alerts to what the verdicts say: a rule is raised when it starts to
    /// fire and resolved when it stops, so a rule that keeps firing minute after minute is raised once.
    /// </summary>
    /// <param name="current">The service's alerts so far; null before its first alert.</param>
    public static List<object> Decide(string service, ServiceAlerts? current, IReadOnlyList<RuleVerdict> verdicts, DateTimeOffset at)
    {
        var events = new List<object>();
        // An evaluation that was queued behind a newer one must not undo what the newer one decided.
        if (current is not null && at < current.LastChangeAt)
        {
            return events;
        }

        foreach (var verdict in verdicts)
        {
            var active = current?.Active.Exists(a => a.Rule == verdict.Rule.Name) ?? false;
            if (verdict.Fires && !active)
            {
                var rule = verdict.Rule;
                events.Add(new SlaAlertRaised(
                    service, rule.Name, rule.Severity, verdict.BurnRateLong, verdict.BurnRateShort, rule.LongWindow, rule.ShortWindow, at));
            }
            else if (!verdict.Fires && active)
            {
                events.Add(new SlaAlertResolved(service, verdict.Rule.Name, at));
            }
        }

        // A rule taken out of the table can no longer fire: its open alerts are resolved rather than left open forever.
        foreach (var alert in current?.Active ?? [])
        {
            if (!verdicts.Any(v => v.Rule.Name == alert.Rule))
            {
                events.Add(new SlaAlertResolved(service, alert.Rule, at));
            }
        }
        return events;
    }
}
