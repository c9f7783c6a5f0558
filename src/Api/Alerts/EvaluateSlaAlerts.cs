using JasperFx;
using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Marten.Exceptions;
using Microsoft.Extensions.Options;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Marten;
using Wolverine.Persistence.EventSourcing;
using Wolverine.Runtime.Handlers;

namespace MaestroSla.Api.Alerts;

/// <summary>Evaluate the burn-rate rules of every service at <paramref name="At"/>.</summary>
public sealed record EvaluateSlaAlerts(DateTimeOffset At);

/// <summary>Evaluate the burn-rate rules of one service at <paramref name="At"/>.</summary>
public sealed record EvaluateServiceSlaAlerts(string Service, DateTimeOffset At)
{
    [Identity]
    public string StreamKey => ServiceAlerts.StreamKeyFor(Service);
}

public static class EvaluateSlaAlertsHandler
{
    /// <summary>
    /// One evaluation per service, each in its own transaction: a service whose evaluation fails or conflicts is
    /// retried alone and does not hold the others back.
    /// </summary>
    public static async Task<OutgoingMessages> Handle(
        EvaluateSlaAlerts command, IQuerySession session, IOptions<SlaAlertOptions> options, ILogger<EvaluateSlaAlerts> logger, CancellationToken ct)
    {
        var messages = new OutgoingMessages();
        var lag = await ProjectionLag.OfLatencyRollupsAsync(session, ct);
        if (lag > options.Value.MaxProjectionLag)
        {
            logger.LogWarning("SLA alerts not evaluated at {At}: the latency rollups trail the stored events by {Lag}", command.At, lag);
            return messages;
        }
        foreach (var service in await KnownServices.ListAsync(session, ct))
        {
            messages.Add(new EvaluateServiceSlaAlerts(service, command.At));
        }
        return messages;
    }
}

public static class EvaluateServiceSlaAlertsHandler
{
    /// <summary>
    /// Every node's scheduler evaluates every service, so two evaluations of one service can race: the loser's
    /// append fails on the stream version (or on creating the stream) and its retry finds the winner's alerts.
    /// </summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnException<ConcurrencyException>().Or<ExistingStreamIdCollisionException>()
            .RetryTimes(3);

    public static async Task<(AlertWindows, EffectiveTargets)> LoadAsync(
        EvaluateServiceSlaAlerts command, IDocumentSession session, IOptions<SlaOptions> targets, CancellationToken ct)
    {
        var windows = await AlertWindows.LoadAsync(session, command.Service, command.At, BurnRateRules.WindowsOf(BurnRateRules.SreWorkbook), ct);
        // The targets in force now, as the status page shows them; the one place alerting learns a service's SLO.
        var effective = await SlaTargetStreams.ResolveAsync(session, targets.Value, command.Service, asOf: null, ct);
        return (windows, effective);
    }

    /// <summary>
    /// Appends the alert transitions to the service's alert stream and, in the same transaction (Wolverine's
    /// outbox), one notification per transition.
    /// </summary>
    public static (Events, OutgoingMessages) Handle(
        EvaluateServiceSlaAlerts command,
        [WriteModel] ServiceAlerts? alerts,
        AlertWindows windows,
        EffectiveTargets targets,
        IOptions<SlaAlertOptions> options)
    {
        // Targets are doubles; as decimals (15 significant digits) 99.95 is exactly 99.95 again.
        var verdicts = BurnRateRules.Evaluate(
            BurnRateRules.SreWorkbook, windows.Counts, (decimal)targets.Targets.AvailabilityPercent, options.Value.MinimumRequests);
        var events = ServiceAlerts.Decide(command.Service, alerts, verdicts, command.At);

        var notifications = new OutgoingMessages();
        foreach (var @event in events)
        {
            notifications.Add(SlaAlertNotification.For(@event, alerts));
        }
        return (new Events(events), notifications);
    }
}
