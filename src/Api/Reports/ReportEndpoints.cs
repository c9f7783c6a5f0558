using System.Globalization;
using System.Security.Claims;
using CsvHelper;
using MaestroSla.Api.Caching;
using MaestroSla.Api.Security;
using MaestroSla.Projections.Reports;
using MaestroSla.Projections.Services;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

public sealed record ServiceStatus(string Service, bool OverallMet, IReadOnlyList<SlaMetricResult> Metrics, double ErrorBudgetRemainingPercent);

public static class ReportEndpoints
{
    /// <summary>
    /// The SLA report of a service for a calendar month in a time zone (?month=2026-10&amp;tz=Europe/Berlin; the
    /// current month when omitted) or any range (?from=…&amp;to=…); ?asOf=T gives the report as it stood at T;
    /// ?format=csv for a spreadsheet; ?endpoint=… for one endpoint's requests and latency.
    /// </summary>
    [WolverineGet("/api/reports/{service}")]
    public static async Task<IResult> Report(
        string service, string? endpoint, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, DateTimeOffset? asOf, string? format,
        ReportCache cache, TimeProvider time, CancellationToken ct)
    {
        var (period, problem) = ReportPeriod.Resolve(month, from, to, tz, time.GetUtcNow());
        if (period is null)
        {
            return Results.Problem(title: problem, statusCode: StatusCodes.Status400BadRequest);
        }
        if (!string.IsNullOrEmpty(format) && format is not ("json" or "csv"))
        {
            return Results.Problem(title: "format must be json or csv", statusCode: StatusCodes.Status400BadRequest);
        }

        var cached = await cache.GetAsync(new ReportRequest(service, endpoint, period, asOf, format ?? "json"), ct);
        return format == "csv"
            ? Results.Text(cached.Csv!, "text/csv")
            : Results.Ok(cached.Report);
    }

    /// <summary>Every service (the caller may read) against its targets for the current month (in ?tz, UTC by default).</summary>
    [WolverineGet("/api/status")]
    public static async Task<IResult> Status(string? tz, ClaimsPrincipal user, IQuerySession session, ReportCache cache, TimeProvider time, CancellationToken ct)
    {
        var (period, problem) = ReportPeriod.Resolve(null, null, null, tz, time.GetUtcNow());
        if (period is null)
        {
            return Results.Problem(title: problem, statusCode: StatusCodes.Status400BadRequest);
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
            statuses.Add(new ServiceStatus(service, report.OverallMet, report.Metrics, report.ErrorBudget.RemainingPercent ?? 100));
        }
        return Results.Ok(statuses);
    }

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
    [CsvColumn("met")] public bool Met { get; init; }
    [CsvColumn("computed_at_sequence")] public long ComputedAtSequence { get; init; }
}
