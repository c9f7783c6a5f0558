using System.Security.Claims;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

/// <summary>
/// Reports as spreadsheets for monthly reporting: a summary with one row per service (and per endpoint with
/// ?endpoints=true) carrying every figure of the JSON report, and every downtime event as rows. Same period
/// parameters as a report; ?service= for one service, else every service the caller may read.
/// </summary>
public static class ReportExportEndpoints
{
    public static ProblemDetails Validate(
        string? service, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, IOptions<ReportOptions> options, IOptions<ContractLimits> limits, TimeProvider time)
    {
        service = string.IsNullOrEmpty(service) ? null : service;
        return ReportQuery.Problem(service, null, asOf, limits.Value)
            ?? ReportQuery.Period(month, from, to, tz, time, options.Value.MaxRange).Problem
            ?? ReportQuery.Forbidden(user, service)
            ?? WolverineContinue.NoProblems;
    }

    [WolverineGet("/api/exports/summary")]
    public static async Task<IResult> Summary(
        string? service, bool? endpoints, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options,
        TimeProvider time, CancellationToken ct)
    {
        var period = ReportQuery.Period(month, from, to, tz, time, options.Value.MaxRange).Period!;
        var (reports, unknown) = await ReportsAsync(service, endpoints == true, period, asOf, user, cache, session, sla.Value, ct);
        return unknown ?? Results.Text(ReportCsv.Summary(reports!), ReportCsv.ContentType);
    }

    [WolverineGet("/api/exports/downtime")]
    public static async Task<IResult> Downtime(
        string? service, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options,
        TimeProvider time, CancellationToken ct)
    {
        var period = ReportQuery.Period(month, from, to, tz, time, options.Value.MaxRange).Period!;
        var (reports, unknown) = await ReportsAsync(service, false, period, asOf, user, cache, session, sla.Value, ct);
        return unknown ?? Results.Text(ReportCsv.Downtime(reports!), ReportCsv.ContentType);
    }

    /// <summary>The reports of the service asked for (404 when nobody knows it), or of every service the caller may read.</summary>
    private static async Task<(List<SlaReport>? Reports, IResult? Unknown)> ReportsAsync(
        string? service, bool perEndpoint, ReportPeriod period, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, SlaOptions sla, CancellationToken ct)
    {
        service = string.IsNullOrEmpty(service) ? null : service;
        var positions = await cache.ReadPositionsAsync(ct);
        string[] services = service is null ? await ReportQuery.ReadableServicesAsync(session, user, ct) : [service];
        var reports = new List<SlaReport>();
        foreach (var name in services)
        {
            var report = await cache.GetAsync(new ReportRequest(name, null, period, asOf), positions, ct);
            if (service is not null && await ReportQuery.UnknownAsync(session, sla, report, ct) is { } unknown)
            {
                return (null, unknown);
            }
            reports.Add(report);
            if (perEndpoint)
            {
                foreach (var endpoint in await KnownSubjects.EndpointsAsync(session, name, period.From, period.To, ct))
                {
                    reports.Add(await cache.GetAsync(new ReportRequest(name, endpoint, period, asOf), positions, ct));
                }
            }
        }
        return (reports, null);
    }
}
