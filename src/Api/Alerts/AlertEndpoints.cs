using System.Security.Claims;
using JasperFx.Events;
using MaestroSla.Api.Reports;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using Marten;
using Marten.Events;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Alerts;

/// <summary>One raised or resolved alert; the burn rates and windows are given for raised ones only.</summary>
public sealed record AlertHistoryEntry(
    long Sequence,
    AlertStatus Status,
    string Service,
    string Rule,
    AlertSeverity? Severity,
    double? BurnRateLong,
    double? BurnRateShort,
    TimeSpan? LongWindow,
    TimeSpan? ShortWindow,
    DateTimeOffset At);

/// <summary>Alerts firing now, pages first.</summary>
public static class ActiveAlertsEndpoint
{
    [WolverineGet("/api/alerts")]
    public static async Task<IReadOnlyList<ActiveSlaAlert>> Active(ClaimsPrincipal user, IQuerySession session, CancellationToken ct)
    {
        var services = await session.Query<ServiceAlerts>().ToListAsync(ct);
        // A read key limited to some services sees only their alerts.
        return services.SelectMany(s => s.Active)
            .Where(a => ApiAccess.MayRead(user, a.Service))
            .OrderBy(a => a.Severity)
            .ThenBy(a => a.Service, StringComparer.Ordinal)
            .ThenBy(a => a.Rule, StringComparer.Ordinal)
            .ToList();
    }
}

/// <summary>The newest raised and resolved alerts, newest first, of one service or of all.</summary>
public static class AlertHistoryEndpoint
{
    // A name ingest would refuse names no stream (and a NUL would reach PostgreSQL as an error): 400.
    public static ProblemDetails Validate(ClaimsPrincipal user, string? service, IOptions<ContractLimits> limits) =>
        string.IsNullOrEmpty(service)
            ? WolverineContinue.NoProblems
            : ReportQuery.Problem(service, null, null, limits.Value) ?? ReportQuery.Forbidden(user, service) ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/alerts/history")]
    public static async Task<IResult> History(ClaimsPrincipal user, IQuerySession session, string? service, int? limit, CancellationToken ct)
    {
        var query = session.Events.QueryAllRawEvents()
            .Where(e => e.EventTypesAre(typeof(SlaAlertRaised), typeof(SlaAlertResolved)));
        if (!string.IsNullOrEmpty(service))
        {
            var key = ServiceAlerts.StreamKeyFor(service);
            query = query.Where(e => e.StreamKey == key);
        }
        var events = await query.OrderByDescending(e => e.Sequence).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);

        var entries = new List<AlertHistoryEntry>(events.Count);
        foreach (var @event in events)
        {
            entries.Add(@event.Data switch
            {
                SlaAlertRaised r => new AlertHistoryEntry(
                    @event.Sequence, AlertStatus.Raised, r.Service, r.Rule, r.Severity, r.BurnRateLong, r.BurnRateShort, r.LongWindow, r.ShortWindow, r.At),
                SlaAlertResolved r => new AlertHistoryEntry(
                    @event.Sequence, AlertStatus.Resolved, r.Service, r.Rule, null, null, null, null, null, r.At),
                _ => throw new InvalidOperationException($"Unexpected alert event {@event.EventTypeName}"),
            });
        }
        return Results.Ok(entries.Where(e => ApiAccess.MayRead(user, e.Service)).ToList());
    }
}
