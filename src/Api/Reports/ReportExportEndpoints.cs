using System.Globalization;
using System.Security.Claims;
using CsvHelper;
using MaestroSla.Api.Caching;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Reports;
using MaestroSla.Projections.Services;
using MaestroSla.Projections.Targets;
using Marten;
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
    public const string CsvContentType = "text/csv";

    [WolverineGet("/api/exports/summary")]
    public static async Task<IResult> Summary(
        string? service, bool? endpoints, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options,
        IOptions<ContractLimits> limits, TimeProvider time, CancellationToken ct)
    {
        var (reports, problem) = await ReportsAsync(service, endpoints == true, month, from, to, tz, asOf, user, cache, session, sla.Value, options.Value, limits.Value, time, ct);
        return problem ?? Results.Text(SummaryCsv(reports!), CsvContentType);
    }

    [WolverineGet("/api/exports/downtime")]
    public static async Task<IResult> Downtime(
        string? service, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, IOptions<SlaOptions> sla, IOptions<ReportOptions> options,
        IOptions<ContractLimits> limits, TimeProvider time, CancellationToken ct)
    {
        var (reports, problem) = await ReportsAsync(service, false, month, from, to, tz, asOf, user, cache, session, sla.Value, options.Value, limits.Value, time, ct);
        return problem ?? Results.Text(DowntimeCsv(reports!), CsvContentType);
    }

    private static async Task<(List<SlaReport>? Reports, IResult? Problem)> ReportsAsync(
        string? service, bool perEndpoint, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf,
        ClaimsPrincipal user, ReportCache cache, IQuerySession session, SlaOptions sla, ReportOptions options, ContractLimits limits,
        TimeProvider time, CancellationToken ct)
    {
        service = string.IsNullOrEmpty(service) ? null : service;
        if (ReportQuery.Problem(service, null, asOf, limits) is { } invalid)
        {
            return (null, invalid);
        }
        var (period, periodProblem) = ReportPeriod.Resolve(month, from, to, tz, time.GetUtcNow(), options.MaxRange);
        if (period is null)
        {
            return (null, ReportQuery.BadRequest(periodProblem!));
        }
        if (service is not null && !ApiAccess.MayRead(user, service))
        {
            return (null, Results.Problem(title: $"This key may not read service '{service}'", statusCode: StatusCodes.Status403Forbidden));
        }

        var positions = await cache.ReadPositionsAsync(ct);
        var services = service is null
            ? (await KnownServices.ListAsync(session, ct)).Where(s => ApiAccess.MayRead(user, s)).ToList()
            : [service];
        var reports = new List<SlaReport>();
        foreach (var name in services)
        {
            var report = (await cache.GetAsync(new ReportRequest(name, null, period, asOf, "json"), positions, ct)).Report;
            if (service is not null && await ReportQuery.UnknownAsync(session, sla, report, ct) is { } unknown)
            {
                return (null, unknown);
            }
            reports.Add(report);
            if (perEndpoint)
            {
                foreach (var endpoint in await KnownSubjects.EndpointsAsync(session, name, period.From, period.To, ct))
                {
                    reports.Add((await cache.GetAsync(new ReportRequest(name, endpoint, period, asOf, "json"), positions, ct)).Report);
                }
            }
        }
        return (reports, null);
    }

    public static string SummaryCsv(IEnumerable<SlaReport> reports) => Write(reports.Select(r =>
    {
        SlaMetricResult Of(string metric) => r.Metrics.Single(m => m.Metric == metric);
        return new SlaSummaryCsvRow
        {
            Service = r.Service,
            Endpoint = r.Endpoint,
            PeriodStart = Iso(r.From),
            PeriodEnd = Iso(r.To),
            TimeZone = r.TimeZone,
            AsOf = r.AsOf is { } asOf ? Iso(asOf) : null,
            Status = r.Status,
            Requests = r.Requests.Total,
            Errors = r.Requests.Errors,
            ErrorRatePercent = r.Requests.ErrorRatePercent,
            AvailabilityPercent = r.Requests.AvailabilityPercent,
            P50Ms = r.Latency.P50Ms,
            P90Ms = r.Latency.P90Ms,
            P95Ms = r.Latency.P95Ms,
            P99Ms = r.Latency.P99Ms,
            P999Ms = r.Latency.P999Ms,
            MaxMs = r.Latency.MaxMs,
            UptimePercent = r.Uptime.UptimePercent,
            DowntimeSeconds = r.Uptime.Downtime.TotalSeconds,
            DowntimeEvents = r.DowntimeEventCount,
            MtbfSeconds = r.Uptime.Mtbf?.TotalSeconds,
            MttrSeconds = r.Uptime.Mttr?.TotalSeconds,
            ErrorBudgetAllowed = r.ErrorBudget.Allowed,
            ErrorBudgetConsumed = r.ErrorBudget.Consumed,
            ErrorBudgetConsumedPercent = r.ErrorBudget.ConsumedPercent,
            ErrorBudgetRemainingPercent = r.ErrorBudget.RemainingPercent,
            DowntimeBudgetAllowedMinutes = r.DowntimeBudget.Allowed,
            DowntimeBudgetConsumedMinutes = r.DowntimeBudget.Consumed,
            DowntimeBudgetConsumedPercent = r.DowntimeBudget.ConsumedPercent,
            DowntimeBudgetRemainingPercent = r.DowntimeBudget.RemainingPercent,
            UptimeTarget = Of("uptime").Target,
            UptimeStatus = Of("uptime").Status,
            AvailabilityTarget = Of("availability").Target,
            AvailabilityStatus = Of("availability").Status,
            LatencyP95Target = Of("latency_p95").Target,
            LatencyP95Status = Of("latency_p95").Status,
            LatencyP99Target = Of("latency_p99").Target,
            LatencyP99Status = Of("latency_p99").Status,
            ErrorRateTarget = Of("error_rate").Target,
            ErrorRateStatus = Of("error_rate").Status,
            TargetsSource = r.TargetsSource,
            ComputedAtSequence = r.ComputedAtSequence,
        };
    }));

    public static string DowntimeCsv(IEnumerable<SlaReport> reports) => Write(reports.SelectMany(r => r.DowntimeEvents.Select(d => new DowntimeCsvRow
    {
        Service = r.Service,
        PeriodStart = Iso(r.From),
        PeriodEnd = Iso(r.To),
        TimeZone = r.TimeZone,
        AsOf = r.AsOf is { } asOf ? Iso(asOf) : null,
        Start = Iso(d.Start),
        End = Iso(d.End),
        DurationSeconds = d.Duration.TotalSeconds,
        Sources = string.Join("; ", d.Sources),
    })));

    private static string Iso(DateTimeOffset instant) => instant.ToString("O", CultureInfo.InvariantCulture);

    private static string Write<T>(IEnumerable<T> rows)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture }, true);
        csv.WriteRecords(rows);
        csv.Flush();
        return writer.ToString();
    }
}

/// <summary>Everything the JSON report holds about one service (or one endpoint, with the service's uptime), in one row.</summary>
[CsvRecord]
public sealed partial class SlaSummaryCsvRow
{
    [CsvColumn("service")] public string Service { get; init; } = "";
    [CsvColumn("endpoint")] public string? Endpoint { get; init; }
    [CsvColumn("period_start")] public string PeriodStart { get; init; } = "";
    [CsvColumn("period_end")] public string PeriodEnd { get; init; } = "";
    [CsvColumn("time_zone")] public string TimeZone { get; init; } = "";
    [CsvColumn("as_of")] public string? AsOf { get; init; }
    [CsvColumn("status")] public string Status { get; init; } = "";
    [CsvColumn("requests")] public long Requests { get; init; }
    [CsvColumn("errors")] public long Errors { get; init; }
    [CsvColumn("error_rate_percent")] public double? ErrorRatePercent { get; init; }
    [CsvColumn("availability_percent")] public double? AvailabilityPercent { get; init; }
    [CsvColumn("p50_ms")] public double? P50Ms { get; init; }
    [CsvColumn("p90_ms")] public double? P90Ms { get; init; }
    [CsvColumn("p95_ms")] public double? P95Ms { get; init; }
    [CsvColumn("p99_ms")] public double? P99Ms { get; init; }
    [CsvColumn("p999_ms")] public double? P999Ms { get; init; }
    [CsvColumn("max_ms")] public double? MaxMs { get; init; }
    [CsvColumn("uptime_percent")] public double? UptimePercent { get; init; }
    [CsvColumn("downtime_seconds")] public double DowntimeSeconds { get; init; }
    [CsvColumn("downtime_events")] public int DowntimeEvents { get; init; }
    [CsvColumn("mtbf_seconds")] public double? MtbfSeconds { get; init; }
    [CsvColumn("mttr_seconds")] public double? MttrSeconds { get; init; }
    [CsvColumn("error_budget_allowed_requests")] public double ErrorBudgetAllowed { get; init; }
    [CsvColumn("error_budget_consumed_requests")] public double ErrorBudgetConsumed { get; init; }
    [CsvColumn("error_budget_consumed_percent")] public double? ErrorBudgetConsumedPercent { get; init; }
    [CsvColumn("error_budget_remaining_percent")] public double? ErrorBudgetRemainingPercent { get; init; }
    [CsvColumn("downtime_budget_allowed_minutes")] public double DowntimeBudgetAllowedMinutes { get; init; }
    [CsvColumn("downtime_budget_consumed_minutes")] public double DowntimeBudgetConsumedMinutes { get; init; }
    [CsvColumn("downtime_budget_consumed_percent")] public double? DowntimeBudgetConsumedPercent { get; init; }
    [CsvColumn("downtime_budget_remaining_percent")] public double? DowntimeBudgetRemainingPercent { get; init; }
    [CsvColumn("uptime_target")] public double UptimeTarget { get; init; }
    [CsvColumn("uptime_status")] public string UptimeStatus { get; init; } = "";
    [CsvColumn("availability_target")] public double AvailabilityTarget { get; init; }
    [CsvColumn("availability_status")] public string AvailabilityStatus { get; init; } = "";
    [CsvColumn("latency_p95_target_ms")] public double LatencyP95Target { get; init; }
    [CsvColumn("latency_p95_status")] public string LatencyP95Status { get; init; } = "";
    [CsvColumn("latency_p99_target_ms")] public double LatencyP99Target { get; init; }
    [CsvColumn("latency_p99_status")] public string LatencyP99Status { get; init; } = "";
    [CsvColumn("error_rate_target")] public double ErrorRateTarget { get; init; }
    [CsvColumn("error_rate_status")] public string ErrorRateStatus { get; init; } = "";
    [CsvColumn("targets_source")] public string TargetsSource { get; init; } = "";
    [CsvColumn("computed_at_sequence")] public long ComputedAtSequence { get; init; }
}

/// <summary>One merged downtime interval of a service in the period, with what reported it.</summary>
[CsvRecord]
public sealed partial class DowntimeCsvRow
{
    [CsvColumn("service")] public string Service { get; init; } = "";
    [CsvColumn("period_start")] public string PeriodStart { get; init; } = "";
    [CsvColumn("period_end")] public string PeriodEnd { get; init; } = "";
    [CsvColumn("time_zone")] public string TimeZone { get; init; } = "";
    [CsvColumn("as_of")] public string? AsOf { get; init; }
    [CsvColumn("start")] public string Start { get; init; } = "";
    [CsvColumn("end")] public string End { get; init; } = "";
    [CsvColumn("duration_seconds")] public double DurationSeconds { get; init; }
    [CsvColumn("sources")] public string Sources { get; init; } = "";
}
