using System.Globalization;
using System.Security.Claims;
using CsvHelper;
using MaestroSla.Api.Caching;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Reports;
using MaestroSla.Projections.Services;
using MaestroSla.Projections.Targets;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

/// <summary>The current month of a time zone, and the latest month with recorded requests (null: none yet).</summary>
public sealed record StatusMonths(string TimeZone, string Current, string? LatestWithData);

public static class ReportEndpoints
{
    /// <summary>
    /// The SLA report of a service for a calendar month in a time zone (?month=2026-10&amp;tz=Europe/Berlin; the
    /// current month when omitted) or any range (?from=…&amp;to=…, at most Reports:MaxRangeDays); ?asOf=T gives the
    /// report as it stood at T; ?format=csv for a spreadsheet; ?endpoint=… for one endpoint's requests and latency.
    /// An unknown service or endpoint is 404 naming the nearest known ones.
    /// </summary>
    [WolverineGet("/api/reports/{service}")]
    public static async Task<IResult> Report(
        string service, string? endpoint, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf, string? format,
        ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options, IOptions<ContractLimits> limits,
        TimeProvider time, CancellationToken ct)
    {
        endpoint = string.IsNullOrEmpty(endpoint) ? null : endpoint;
        if (ReportQuery.Problem(service, endpoint, asOf, limits.Value) is { } invalid)
        {
            return invalid;
        }
        var (period, problem) = ReportPeriod.Resolve(month, from, to, tz, time.GetUtcNow(), options.Value.MaxRange);
        if (period is null)
        {
            return ReportQuery.BadRequest(problem!);
        }
        if (!string.IsNullOrEmpty(format) && format is not ("json" or "csv"))
        {
            return ReportQuery.BadRequest("format must be json or csv");
        }
        // As of T, a period in progress at T had only elapsed up to T.
        period = asOf is { } at ? period.ElapsedAt(at) : period;

        var cached = await cache.GetAsync(new ReportRequest(service, endpoint, period, asOf, format ?? "json"), ct);
        if (await ReportQuery.UnknownAsync(session, sla.Value, cached.Report, ct) is { } unknown)
        {
            return unknown;
        }
        return format == "csv"
            ? Results.Text(cached.Csv!, "text/csv")
            : Results.Ok(cached.Report);
    }

    /// <summary>
    /// Every service (the caller may read) against its targets for a month (?month=, the current one by default) in
    /// ?tz (UTC by default). A service without data in that month shows "no data", not "met".
    /// </summary>
    [WolverineGet("/api/status")]
    public static async Task<IResult> Status(string? tz, string? month, ClaimsPrincipal user, IQuerySession session, ReportCache cache, TimeProvider time, CancellationToken ct)
    {
        var (period, problem) = ReportPeriod.Resolve(string.IsNullOrEmpty(month) ? null : month, null, null, tz, time.GetUtcNow());
        if (period is null)
        {
            return ReportQuery.BadRequest(problem!);
        }
        var statuses = new List<ServiceStatus>();
        var positions = await cache.ReadPositionsAsync(ct);
        foreach (var service in await KnownServices.ListAsync(session, ct))
        {
            if (!ApiAccess.MayRead(user, service))
            {
                continue;
            }
            var report = (await cache.GetAsync(new ReportRequest(service, null, period, null, "json"), positions, ct)).Report;
            statuses.Add(new ServiceStatus(service, report.OverallMet, report.Status, report.Metrics, report.ErrorBudget.RemainingPercent));
        }
        return Results.Ok(statuses);
    }

    /// <summary>
    /// The month the dashboard opens on: the current month of ?tz, and the latest month in which any service the
    /// caller may read recorded requests (an empty current month is no news; the last month with data is).
    /// </summary>
    [WolverineGet("/api/status/months")]
    public static async Task<IResult> Months(string? tz, ClaimsPrincipal user, IQuerySession session, TimeProvider time, CancellationToken ct)
    {
        var (period, problem) = ReportPeriod.Resolve(null, null, null, tz, time.GetUtcNow());
        if (period is null)
        {
            return ReportQuery.BadRequest(problem!);
        }
        var zone = TimeZoneInfo.FindSystemTimeZoneById(period.TimeZone);
        var readable = (await KnownServices.ListAsync(session, ct)).Where(s => ApiAccess.MayRead(user, s)).ToArray();
        var latestHour = readable.Length == 0
            ? null
            : await session.Query<LatencyRollup>()
                .Where(r => r.Grain == RollupGrain.Hour && r.Endpoint == LatencyRollup.AllEndpoints && r.Service.IsOneOf(readable))
                .OrderByDescending(r => r.Start)
                .FirstOrDefaultAsync(ct);
        return Results.Ok(new StatusMonths(
            period.TimeZone,
            MonthOf(period.From, zone),
            latestHour is null ? null : MonthOf(latestHour.Start.AddHours(1).AddTicks(-1), zone)));
    }

    private static string MonthOf(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>The targets of reports as rows: one per metric and report, with its status.</summary>
    public static string ToCsv(IEnumerable<SlaReport> reports)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture }, true);
        csv.WriteRecords(reports.SelectMany(r => r.Metrics.Select(m => new SlaReportCsvRow
        {
            Service = r.Service,
            PeriodStart = r.From.ToString("O", CultureInfo.InvariantCulture),
            PeriodEnd = r.To.ToString("O", CultureInfo.InvariantCulture),
            TimeZone = r.TimeZone,
            AsOf = r.AsOf?.ToString("O", CultureInfo.InvariantCulture),
            Metric = m.Metric,
            Comparison = m.Comparison,
            Target = m.Target,
            Actual = m.Actual,
            Unit = m.Unit,
            Met = m.Met,
            Status = m.Status,
            ComputedAtSequence = r.ComputedAtSequence,
        })));
        csv.Flush();
        return writer.ToString();
    }
}

/// <summary>One metric of one report as a spreadsheet row (CsvHelper generates its writer at compile time).</summary>
[CsvRecord]
public sealed partial class SlaReportCsvRow
{
    [CsvColumn("service")] public string Service { get; init; } = "";
    [CsvColumn("period_start")] public string PeriodStart { get; init; } = "";
    [CsvColumn("period_end")] public string PeriodEnd { get; init; } = "";
    [CsvColumn("time_zone")] public string TimeZone { get; init; } = "";
    [CsvColumn("as_of")] public string? AsOf { get; init; }
    [CsvColumn("metric")] public string Metric { get; init; } = "";
    [CsvColumn("comparison")] public string Comparison { get; init; } = "";
    [CsvColumn("target")] public double Target { get; init; }
    [CsvColumn("actual")] public double? Actual { get; init; }
    [CsvColumn("unit")] public string Unit { get; init; } = "";
    [CsvColumn("met")] public bool? Met { get; init; }
    [CsvColumn("status")] public string Status { get; init; } = "";
    [CsvColumn("computed_at_sequence")] public long ComputedAtSequence { get; init; }
}
