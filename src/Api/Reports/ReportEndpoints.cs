using System.Globalization;
using System.Security.Claims;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

/// <summary>
/// The SLA report of a service for a calendar month in a time zone (?month=2026-10&amp;tz=Europe/Berlin; the
/// current month when omitted) or any range (?from=…&amp;to=…, at most Reports:MaxRangeDays); ?asOf=T gives the
/// report as it stood at T; ?format=csv for a spreadsheet; ?endpoint=… for one endpoint's requests and latency;
/// ?customer=… for one customer's (downtime stays the service's). An unknown service, endpoint or customer is 404
/// naming the nearest known ones.
/// </summary>
public static class ReportEndpoint
{
    public static ProblemDetails Validate(
        string service, string? endpoint, string? customer, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        string? format, IOptions<ReportOptions> options, IOptions<ContractLimits> limits, TimeProvider time) =>
        ReportQuery.Problem(service, NullIfEmpty(endpoint), asOf, limits.Value, NullIfEmpty(customer))
        ?? ReportQuery.Period(month, from, to, tz, time, options.Value.MaxRange).Problem
        ?? (string.IsNullOrEmpty(format) || format is "json" or "csv" ? WolverineContinue.NoProblems : ReportQuery.BadRequest("format must be json or csv"));

    [WolverineGet("/api/reports/{service}")]
    public static async Task<IResult> Get(
        string service, string? endpoint, string? customer, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf, string? format,
        ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options, TimeProvider time, CancellationToken ct)
    {
        var period = ReportQuery.Period(month, from, to, tz, time, options.Value.MaxRange).Period!;
        // As of T, a period in progress at T had only elapsed up to T.
        period = asOf is { } at ? period.ElapsedAt(at) : period;
        var report = await cache.GetAsync(new ReportRequest(service, NullIfEmpty(endpoint), period, asOf, format ?? "json", NullIfEmpty(customer)), ct);
        if (await ReportQuery.UnknownAsync(session, sla.Value, report, ct) is { } unknown)
        {
            return unknown;
        }
        return format == "csv"
            ? Results.Text(ReportCsv.Metrics([report]), ReportCsv.ContentType)
            : Results.Ok(report);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>
/// Every service (the caller may read) against its targets for a month (?month=, the current one by default) in
/// ?tz (UTC by default). A service without data in that month shows "no data", not "met".
/// </summary>
public static class StatusEndpoint
{
    public static ProblemDetails Validate(string? tz, string? month, TimeProvider time) =>
        Period(tz, month, time).Problem ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/status")]
    public static async Task<IResult> Get(
        string? tz, string? month, ClaimsPrincipal user, IQuerySession session, ReportCache cache, TimeProvider time, HttpResponse response, CancellationToken ct)
    {
        var period = Period(tz, month, time).Period!;
        var statuses = new List<ServiceStatus>();
        var positions = await cache.ReadPositionsAsync(ct);
        var readable = await ReportQuery.ReadableServicesAsync(session, user, ct);
        foreach (var service in readable)
        {
            var report = await cache.GetAsync(new ReportRequest(service, null, period, null), positions, ct);
            statuses.Add(new ServiceStatus(service, report.OverallMet, report.Status, report.Metrics, report.ErrorBudget.RemainingPercent));
        }
        // The current month without any data is no news: point at the latest month that has some (as the dashboard
        // and the CLI open on it), without changing the body clients parse.
        if (string.IsNullOrEmpty(month) && statuses.Count > 0 && statuses.All(s => s.Status == SlaStatus.NoData)
            && await StatusMonthsEndpoint.LatestMonthWithDataAsync(session, readable, TimeZoneInfo.FindSystemTimeZoneById(period.TimeZone), ct) is { } latest)
        {
            response.Headers.Link = $"</api/status?month={latest}&tz={Uri.EscapeDataString(period.TimeZone)}>; rel=\"alternate\"; title=\"latest month with data\"";
        }
        return Results.Ok(statuses);
    }

    private static (ReportPeriod? Period, ProblemDetails? Problem) Period(string? tz, string? month, TimeProvider time) =>
        ReportQuery.Period(string.IsNullOrEmpty(month) ? null : month, null, null, tz, time);
}

/// <summary>The current month of a time zone, and the latest month with recorded requests (null: none yet).</summary>
public sealed record StatusMonths(string TimeZone, string Current, string? LatestWithData);

/// <summary>
/// The month the dashboard opens on: the current month of ?tz, and the latest month in which any service the
/// caller may read recorded requests (an empty current month is no news; the last month with data is).
/// </summary>
public static class StatusMonthsEndpoint
{
    public static ProblemDetails Validate(string? tz, TimeProvider time) =>
        ReportQuery.Period(null, null, null, tz, time).Problem ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/status/months")]
    public static async Task<IResult> Get(string? tz, ClaimsPrincipal user, IQuerySession session, TimeProvider time, CancellationToken ct)
    {
        var period = ReportQuery.Period(null, null, null, tz, time).Period!;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(period.TimeZone);
        var readable = await ReportQuery.ReadableServicesAsync(session, user, ct);
        return Results.Ok(new StatusMonths(period.TimeZone, MonthOf(period.From, zone), await LatestMonthWithDataAsync(session, readable, zone, ct)));
    }

    /// <summary>The latest month (yyyy-MM in <paramref name="zone"/>) in which any of the services recorded requests; null: none.</summary>
    public static async Task<string?> LatestMonthWithDataAsync(IQuerySession session, string[] services, TimeZoneInfo zone, CancellationToken ct)
    {
        var latestHour = services.Length == 0
            ? null
            : await session.Query<LatencyRollup>()
                .Where(r => r.Grain == RollupGrain.Hour && r.Endpoint == LatencyRollup.AllEndpoints && r.Service.IsOneOf(services))
                .OrderByDescending(r => r.Start)
                .FirstOrDefaultAsync(ct);
        return latestHour is null ? null : MonthOf(latestHour.Start.AddHours(1).AddTicks(-1), zone);
    }

    private static string MonthOf(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM", CultureInfo.InvariantCulture);
}
