using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;

namespace MaestroSla.Api.Reports;

/// <summary>
/// What every report-shaped query (report, series, status, CSV exports) checks before and after computing: names
/// and instants that cannot name anything are 400, and a report that found nothing for a name nobody knows is 404
/// naming the nearest known names, never an empty report that says the SLA was met.
/// </summary>
public static class ReportQuery
{
    public static IResult BadRequest(string title) => Results.Problem(title: title, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>A 400 for a service or endpoint name ingest would refuse, or an instant out of range; else null.</summary>
    public static IResult? Problem(string? service, string? endpoint, DateTimeOffset? asOf, ContractLimits limits)
    {
        var problem = (service is null ? null : ReportNames.Problem(service, "service", limits.MaxNameLength))
            ?? (endpoint is null ? null : ReportNames.Problem(endpoint, "endpoint", limits.MaxNameLength))
            ?? ReportPeriod.InstantProblem("asOf", asOf);
        return problem is null ? null : BadRequest(problem);
    }

    /// <summary>
    /// After a report was computed: when it found nothing, whether its service (and endpoint) is known at all. Only
    /// empty reports pay for the look-up.
    /// </summary>
    public static async Task<IResult?> UnknownAsync(IQuerySession session, SlaOptions options, SlaReport report, CancellationToken ct)
    {
        if (report.Requests.Total > 0)
        {
            return null;
        }
        if (report.Uptime.UptimePercent is null && report.DowntimeEventCount == 0)
        {
            var services = await KnownSubjects.ServicesAsync(session, options, ct);
            if (!services.Contains(report.Service, StringComparer.Ordinal))
            {
                return NotFound("service", report.Service, services);
            }
        }
        if (report.Endpoint is { } endpoint)
        {
            var endpoints = await KnownSubjects.EndpointsAsync(session, report.Service, ct);
            if (!endpoints.Contains(endpoint, StringComparer.Ordinal))
            {
                return NotFound($"endpoint of service '{report.Service}'", endpoint, endpoints);
            }
        }
        return null;
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
