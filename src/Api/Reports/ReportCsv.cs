using System.Globalization;
using CsvHelper;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;

namespace MaestroSla.Api.Reports;

/// <summary>
/// Reports as spreadsheets, formatted at the edge: the cache and the builder deal in reports only. Every CSV the
/// API serves is written here.
/// </summary>
public static class ReportCsv
{
    public const string ContentType = "text/csv";

    /// <summary>The targets of reports as rows: one per metric and report, with its status.</summary>
    public static string Metrics(IEnumerable<SlaReport> reports) => Write(reports.SelectMany(r => r.Metrics.Select(m => new SlaReportCsvRow
    {
        Service = r.Service,
        PeriodStart = Iso(r.From),
        PeriodEnd = Iso(r.To),
        TimeZone = r.TimeZone,
        AsOf = r.AsOf is { } asOf ? Iso(asOf) : null,
        Metric = m.Metric,
        Comparison = m.Comparison,
        Target = m.Target,
        Actual = m.Actual,
        Unit = m.Unit,
        Met = m.Met,
        Status = m.Status,
        ComputedAtSequence = r.ComputedAtSequence,
    })));

    /// <summary>One row per service (and endpoint) with every figure of the JSON report.</summary>
    public static string Summary(IEnumerable<SlaReport> reports) => Write(reports.Select(r =>
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

    /// <summary>Every merged downtime interval of the reports, one row each.</summary>
    public static string Downtime(IEnumerable<SlaReport> reports) => Write(reports.SelectMany(r => r.DowntimeEvents.Select(d => new DowntimeCsvRow
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
