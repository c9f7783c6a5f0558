using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Cli;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Microsoft.VisualBasic.FileIO;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>
/// The CSV analysts paste into monthly reports: every figure of the JSON report per service (and per endpoint), and
/// every downtime event, through the API and written by the CLI.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class CsvExportTests(ServicesFixture services)
{
    private const string Zone = "Europe/Berlin";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string[] Services = ["checkout", "search"];

    [Fact]
    public async Task the_summary_csv_carries_every_figure_of_the_json_report_per_service_and_endpoint_and_the_downtime_csv_every_event()
    {
        var checkout = MonthOfTelemetry.PreviousMonth("checkout", Zone, requests: 6_000, seed: 8);
        var search = MonthOfTelemetry.PreviousMonth("search", Zone, requests: 3_000, seed: 9);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await checkout.PostAsync(app);
        await search.PostAsync(app);
        var query = $"month={checkout.Month}&tz={Uri.EscapeDataString(Zone)}";

        var summaryText = await GetCsvAsync(app, $"/api/exports/summary?{query}&endpoints=true");
        var summary = Parse(summaryText);
        var endpoints = new List<string> { "GET /cart", "GET /items", "POST /pay" };
        summary.Select(r => (r["service"], r["endpoint"])).ShouldBe(
            Services.SelectMany(s => endpoints.Select(e => (s, e)).Prepend((s, ""))).ToList());
        foreach (var row in summary)
        {
            var endpoint = row["endpoint"].Length == 0 ? null : row["endpoint"];
            var report = await ReportAsync(app, $"/api/reports/{row["service"]}?{query}" + (endpoint is null ? "" : $"&endpoint={Uri.EscapeDataString(endpoint)}"));
            var what = $"{row["service"]} {endpoint}";
            row["period_start"].ShouldBe(report.From.ToString("O", CultureInfo.InvariantCulture));
            row["period_end"].ShouldBe(report.To.ToString("O", CultureInfo.InvariantCulture));
            row["time_zone"].ShouldBe(Zone);
            row["status"].ShouldBe(report.Status, what);
            Number(row["requests"]).ShouldBe(report.Requests.Total, what);
            Number(row["errors"]).ShouldBe(report.Requests.Errors, what);
            Number(row["error_rate_percent"]).ShouldBe(report.Requests.ErrorRatePercent);
            Number(row["availability_percent"]).ShouldBe(report.Requests.AvailabilityPercent);
            Number(row["p50_ms"]).ShouldBe(report.Latency.P50Ms);
            Number(row["p90_ms"]).ShouldBe(report.Latency.P90Ms);
            Number(row["p95_ms"]).ShouldBe(report.Latency.P95Ms);
            Number(row["p99_ms"]).ShouldBe(report.Latency.P99Ms);
            Number(row["p999_ms"]).ShouldBe(report.Latency.P999Ms);
            Number(row["max_ms"]).ShouldBe(report.Latency.MaxMs);
            Number(row["uptime_percent"]).ShouldBe(report.Uptime.UptimePercent);
            Number(row["downtime_seconds"]).ShouldBe(report.Uptime.Downtime.TotalSeconds);
            Number(row["downtime_events"]).ShouldBe(report.DowntimeEventCount);
            Number(row["mtbf_seconds"]).ShouldBe(report.Uptime.Mtbf?.TotalSeconds);
            Number(row["mttr_seconds"]).ShouldBe(report.Uptime.Mttr?.TotalSeconds);
            Number(row["error_budget_allowed_requests"]).ShouldBe(report.ErrorBudget.Allowed);
            Number(row["error_budget_consumed_requests"]).ShouldBe(report.ErrorBudget.Consumed);
            Number(row["error_budget_consumed_percent"]).ShouldBe(report.ErrorBudget.ConsumedPercent);
            Number(row["error_budget_remaining_percent"]).ShouldBe(report.ErrorBudget.RemainingPercent);
            Number(row["downtime_budget_allowed_minutes"]).ShouldBe(report.DowntimeBudget.Allowed);
            Number(row["downtime_budget_consumed_minutes"]).ShouldBe(report.DowntimeBudget.Consumed);
            Number(row["downtime_budget_consumed_percent"]).ShouldBe(report.DowntimeBudget.ConsumedPercent);
            Number(row["downtime_budget_remaining_percent"]).ShouldBe(report.DowntimeBudget.RemainingPercent);
            foreach (var metric in report.Metrics)
            {
                var unit = metric.Unit == "ms" ? "_ms" : "";
                Number(row[$"{metric.Metric}_target{unit}"]).ShouldBe(metric.Target, what);
                row[$"{metric.Metric}_status"].ShouldBe(metric.Status, what);
            }
            row["targets_source"].ShouldBe(report.TargetsSource);
            Number(row["computed_at_sequence"]).ShouldBe(report.ComputedAtSequence);
        }
        summary.Single(r => r["service"] == "checkout" && r["endpoint"] == "").Keys.Count.ShouldBe(42);
        // Without endpoints=true: one row per service.
        Parse(await GetCsvAsync(app, $"/api/exports/summary?{query}")).Select(r => r["service"]).ShouldBe(["checkout", "search"]);

        var downtimeText = await GetCsvAsync(app, $"/api/exports/downtime?{query}");
        var downtime = Parse(downtimeText);
        var expected = new List<(string Service, DowntimeEvent Event)>();
        foreach (var service in Services)
        {
            expected.AddRange((await ReportAsync(app, $"/api/reports/{service}?{query}")).DowntimeEvents.Select(e => (service, e)));
        }
        expected.Count.ShouldBe(8, "four merged intervals per service");
        downtime.Count.ShouldBe(expected.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (service, e) = expected[i];
            downtime[i]["service"].ShouldBe(service);
            DateTimeOffset.Parse(downtime[i]["start"], CultureInfo.InvariantCulture).ShouldBe(e.Start);
            DateTimeOffset.Parse(downtime[i]["end"], CultureInfo.InvariantCulture).ShouldBe(e.End);
            Number(downtime[i]["duration_seconds"]).ShouldBe(e.Duration.TotalSeconds);
            downtime[i]["sources"].ShouldBe(string.Join("; ", e.Sources));
        }
        downtime.ShouldContain(r => r["sources"] == "deployment; synthetic probe");

        // The CLI writes both files, byte for byte what the API answers.
        var folder = Path.Combine(Path.GetTempPath(), $"maestrosla-csv-{Guid.NewGuid():N}");
        try
        {
            var (exit, output) = await CliTests.RunAsync("export", "csv", "--month", checkout.Month, "--tz", Zone, "--endpoints", "-o", folder,
                "--url", app.Client.BaseAddress!.ToString());
            exit.ShouldBe(0, output);
            (await File.ReadAllTextAsync(Path.Combine(folder, $"sla-summary-{checkout.Month}.csv"))).ShouldBe(summaryText);
            (await File.ReadAllTextAsync(Path.Combine(folder, $"sla-downtime-{checkout.Month}.csv"))).ShouldBe(downtimeText);
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static double? Number(string text) => text.Length == 0 ? null : double.Parse(text, CultureInfo.InvariantCulture);

    private static async Task<string> GetCsvAsync(RunningApp app, string url)
    {
        using var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("text/csv");
        return body;
    }

    private static async Task<SlaReport> ReportAsync(RunningApp app, string url) =>
        JsonSerializer.Deserialize<SlaReport>(await app.Client.GetStringAsync(url), Json)!;

    /// <summary>Rows by column name, read by a standard CSV parser (quotes and all).</summary>
    private static List<Dictionary<string, string>> Parse(string csv)
    {
        using var parser = new TextFieldParser(new StringReader(csv)) { TextFieldType = FieldType.Delimited, HasFieldsEnclosedInQuotes = true };
        parser.SetDelimiters(",");
        var header = parser.ReadFields()!;
        var rows = new List<Dictionary<string, string>>();
        while (!parser.EndOfData)
        {
            var fields = parser.ReadFields()!;
            fields.Length.ShouldBe(header.Length);
            rows.Add(header.Zip(fields).ToDictionary(p => p.First, p => p.Second));
        }
        return rows;
    }
}
