using System.Security.Claims;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;

namespace MaestroSla.Api.Reports;

/// <summary>
/// What every report-shaped query (report, series, status, CSV exports) checks before and after computing: names
/// and instants that cannot name anything are 400, and a report that found nothing for a name nobody knows is 404
/// naming the nearest known names, never an empty report that says the SLA was met.
/// </summary>
public static class ReportQuery
{
    /// <summary>Every known service the caller may read.</summary>
    public static async Task<string[]> ReadableServicesAsync(IQuerySession session, ClaimsPrincipal user, CancellationToken ct) =>
        (await KnownServices.ListAsync(session, ct)).Where(s => ApiAccess.MayRead(user, s)).ToArray();

    public static ProblemDetails BadRequest(string title, string? detail = null) =>
        new() { Title = title, Detail = detail, Status = StatusCodes.Status400BadRequest };

    /// <summary>
    /// A 400 for a service, endpoint or customer name ingest would refuse, an endpoint and a customer together (a
    /// customer's rollups span the service's endpoints), or an instant out of range; else null.
    /// </summary>
    public static ProblemDetails? Problem(string? service, string? endpoint, DateTimeOffset? asOf, ContractLimits limits, string? customer = null)
    {
        var problem = (service is null ? null : ReportNames.Problem(service, "service", limits.MaxNameLength))
            ?? (endpoint is null ? null : ReportNames.Problem(endpoint, "endpoint", limits.MaxNameLength))
            ?? (customer is null ? null : ReportNames.Problem(customer, "customer", limits.MaxNameLength))
            ?? (endpoint is not null && customer is not null ? "Give endpoint or customer, not both: a customer's figures span every endpoint" : null)
            ?? ReportPeriod.InstantProblem("asOf", asOf);
        return problem is null ? null : BadRequest(problem);
    }

    /// <summary>A 403 when the caller's key may not read <paramref name="service"/> (a key limited to some services).</summary>
    public static ProblemDetails? Forbidden(ClaimsPrincipal user, string? service) =>
        service is null || ApiAccess.MayRead(user, service)
            ? null
            : new ProblemDetails { Title = $"This key may not read service '{service}'", Status = StatusCodes.Status403Forbidden };

    /// <summary>
    /// The one binding of a report period: ?month (yyyy-MM, the current month when omitted) in ?tz (UTC when omitted),
    /// or ?from and ?to, at most <paramref name="maxRange"/> apart. The period, or the 400 saying what is wrong.
    /// </summary>
    public static (ReportPeriod? Period, ProblemDetails? Problem) Period(
        string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, TimeProvider time, TimeSpan? maxRange = null)
    {
        var (period, problem) = ReportPeriod.Resolve(month, from, to, tz, time.GetUtcNow(), maxRange);
        return period is null ? (null, BadRequest(problem!)) : (period, null);
    }

    /// <summary>
    /// After a report was computed: when it found nothing, whether its service (and endpoint, or customer) is known at
    /// all. Only empty reports pay for the look-up.
    /// </summary>
    public static async Task<IResult?> UnknownAsync(IQuerySession session, SlaOptions options, SlaReport report, CancellationToken ct)
    {
        if (report.Requests.Total > 0)
        {
            return null;
        }
        if (report.Uptime.UptimePercent is null && report.DowntimeEventCount == 0
            && await UnknownServiceAsync(session, options, report.Service, ct) is { } unknownService)
        {
            return unknownService;
        }
        if (report.Endpoint is { } endpoint)
        {
            var endpoints = await KnownSubjects.EndpointsAsync(session, report.Service, ct);
            if (!endpoints.Contains(endpoint, StringComparer.Ordinal))
            {
                return NotFound($"endpoint of service '{report.Service}'", endpoint, endpoints);
            }
        }
        if (report.Customer is { } customer)
        {
            var customers = await KnownSubjects.CustomersAsync(session, report.Service, ct);
            if (!customers.Contains(customer, StringComparer.Ordinal))
            {
                return NotFound($"customer of service '{report.Service}'", customer, customers);
            }
        }
        return null;
    }

    /// <summary>A 404 naming the nearest known services when nobody knows <paramref name="service"/>; else null.</summary>
    public static async Task<IResult?> UnknownServiceAsync(IQuerySession session, SlaOptions options, string service, CancellationToken ct)
    {
        var services = await KnownSubjects.ServicesAsync(session, options, ct);
        return services.Contains(service, StringComparer.Ordinal) ? null : NotFound("service", service, services);
    }

    private static IResult NotFound(string what, string asked, IReadOnlyCollection<string> known)
    {
        var nearest = KnownSubjects.Nearest(asked, known);
        return Results.Problem(
            title: $"Unknown {what} '{ReportPeriod.Shorten(asked)}'",
            detail: nearest.Count == 0
                ? $"No {what.Split(' ')[0]} is known yet."
                : $"Known names nearest to it: {string.Join(", ", nearest)}.",
            statusCode: StatusCodes.Status404NotFound,
            extensions: new Dictionary<string, object?> { ["nearest"] = nearest });
    }
}
