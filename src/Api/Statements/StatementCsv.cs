using System.Globalization;
using CsvHelper;
using MaestroSla.Contracts.Statements;

namespace MaestroSla.Api.Statements;

/// <summary>A statement as a spreadsheet: one row per service (and one for the services combined), the verdict on each.</summary>
public static class StatementCsv
{
    public static string Write(Statement s)
    {
        var rows = (s.Combined is null ? s.Services : s.Services.Append(s.Combined)).Select(f => new StatementCsvRow
        {
            Customer = s.Customer,
            Month = s.Month,
            TimeZone = s.TimeZone,
            Status = s.Status,
            PeriodStart = Iso(s.PeriodStart),
            PeriodEnd = Iso(s.PeriodEnd),
            AsOf = s.AsOf is { } asOf ? Iso(asOf) : null,
            ContractVersion = s.ContractVersion,
            Measure = s.Measure,
            Service = f.Service,
            Requests = f.Requests,
            ExcludedRequests = f.ExcludedRequests,
            Errors = f.Errors,
            ExcludedErrors = f.ExcludedErrors,
            DowntimeSeconds = f.DowntimeSeconds,
            ExcludedDowntimeSeconds = f.ExcludedDowntimeSeconds,
            MaintenanceSeconds = f.MaintenanceSeconds,
            UptimeRaw = f.UptimePercent.Raw,
            UptimeAdjusted = f.UptimePercent.Adjusted,
            AvailabilityRaw = f.AvailabilityPercent.Raw,
            AvailabilityAdjusted = f.AvailabilityPercent.Adjusted,
            ErrorRateRaw = f.ErrorRatePercent.Raw,
            ErrorRateAdjusted = f.ErrorRatePercent.Adjusted,
            LatencyP95Raw = f.LatencyP95Ms.Raw,
            LatencyP95Adjusted = f.LatencyP95Ms.Adjusted,
            LatencyP99Raw = f.LatencyP99Ms.Raw,
            LatencyP99Adjusted = f.LatencyP99Ms.Adjusted,
            ServiceStatus = f.Status,
            ContractStatus = s.Overall,
            CreditMetric = s.CreditMetric,
            CreditPercent = s.CreditPercent,
            CustomerId = s.CustomerId,
        });
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        using var csv = CsvWriter.Create(writer, new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture }, true);
        csv.WriteRecords(rows);
        csv.Flush();
        return writer.ToString();
    }

    private static string Iso(DateTimeOffset instant) => instant.ToString("O", CultureInfo.InvariantCulture);
}

/// <summary>One service of a statement (or "(combined)"), raw beside adjusted, with the contract's verdict and credit.</summary>
[CsvRecord]
public sealed partial class StatementCsvRow
{
    [CsvColumn("customer")] public string Customer { get; init; } = "";
    [CsvColumn("month")] public string Month { get; init; } = "";
    [CsvColumn("time_zone")] public string TimeZone { get; init; } = "";
    [CsvColumn("status")] public string Status { get; init; } = "";
    [CsvColumn("period_start")] public string PeriodStart { get; init; } = "";
    [CsvColumn("period_end")] public string PeriodEnd { get; init; } = "";
    [CsvColumn("as_of")] public string? AsOf { get; init; }
    [CsvColumn("contract_version")] public int ContractVersion { get; init; }
    [CsvColumn("measure")] public string Measure { get; init; } = "";
    [CsvColumn("service")] public string Service { get; init; } = "";
    [CsvColumn("requests")] public long Requests { get; init; }
    [CsvColumn("excluded_requests")] public long ExcludedRequests { get; init; }
    [CsvColumn("errors")] public long Errors { get; init; }
    [CsvColumn("excluded_errors")] public long ExcludedErrors { get; init; }
    [CsvColumn("downtime_seconds")] public double DowntimeSeconds { get; init; }
    [CsvColumn("excluded_downtime_seconds")] public double ExcludedDowntimeSeconds { get; init; }
    [CsvColumn("maintenance_seconds")] public double MaintenanceSeconds { get; init; }
    [CsvColumn("uptime_percent_raw")] public double? UptimeRaw { get; init; }
    [CsvColumn("uptime_percent_adjusted")] public double? UptimeAdjusted { get; init; }
    [CsvColumn("availability_percent_raw")] public double? AvailabilityRaw { get; init; }
    [CsvColumn("availability_percent_adjusted")] public double? AvailabilityAdjusted { get; init; }
    [CsvColumn("error_rate_percent_raw")] public double? ErrorRateRaw { get; init; }
    [CsvColumn("error_rate_percent_adjusted")] public double? ErrorRateAdjusted { get; init; }
    [CsvColumn("latency_p95_ms_raw")] public double? LatencyP95Raw { get; init; }
    [CsvColumn("latency_p95_ms_adjusted")] public double? LatencyP95Adjusted { get; init; }
    [CsvColumn("latency_p99_ms_raw")] public double? LatencyP99Raw { get; init; }
    [CsvColumn("latency_p99_ms_adjusted")] public double? LatencyP99Adjusted { get; init; }
    [CsvColumn("service_status")] public string ServiceStatus { get; init; } = "";
    [CsvColumn("contract_status")] public string ContractStatus { get; init; } = "";
    [CsvColumn("credit_metric")] public string? CreditMetric { get; init; }
    [CsvColumn("credit_percent")] public double? CreditPercent { get; init; }

    /// <summary>The one customer of a shared service the contract measures (its customerId); empty when every request counts. Last, so earlier columns keep their places.</summary>
    [CsvColumn("customer_id")] public string? CustomerId { get; init; }
}
