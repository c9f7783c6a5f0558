using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Series;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless Chromium against the real service with a month of data: the charts draw
/// (their canvases hold the series' colours) and every figure of the report table is the API's, for the service and
/// for one customer picked in the page.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class DashboardBrowserTests(ServicesFixture services, ITestOutputHelper output)
{
    private const string Zone = "Europe/Berlin";

    // Entered in the page the way a user would and checked on every API request: a read key (RunningApp's own
    // client keeps its admin key for posting the data).
    private const string ApiKey = "dashboard-browser-test";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // Two customers share checkout; a third of its requests name neither.
    private static readonly string[] Customers = ["acme", "globex"];

    [Fact]
    public async Task the_dashboard_draws_the_months_charts_and_shows_the_same_figures_as_the_report_api()
    {
        var browser = BrowserTools.Require();
        var data = MonthOfTelemetry.PreviousMonth("checkout", Zone, customers: Customers);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Security:ApiKeys:1:Name"] = "dashboard",
            ["Security:ApiKeys:1:KeyHash"] = ApiKeyHash.Of(ApiKey),
            ["Security:ApiKeys:1:Roles:0"] = ApiRoles.Read,
        });
        await data.PostAsync(app);

        var screenshot = Path.Combine(Repository.Root, "TestResults", $"dashboard-{data.Service}-{data.Month}.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        var baseUrl = app.Client.BaseAddress!.ToString().TrimEnd('/');
        var (exitCode, stdout, stderr) = await browser.RunAsync(
            [baseUrl, data.Service, data.Month, Zone, screenshot, "day", Customers[0]], new Dictionary<string, string> { ["MAESTROSLA_API_KEY"] = ApiKey }, TimeSpan.FromMinutes(3));
        output.WriteLine(stderr);
        exitCode.ShouldBe(0, $"the browser check failed:\n{stderr}\n{stdout}");
        output.WriteLine($"screenshot: {screenshot}");
        var page = JsonSerializer.Deserialize<PageFigures>(stdout, Json)!;

        var response = await app.Client.GetAsync($"/api/reports/{data.Service}?month={data.Month}&tz={Uri.EscapeDataString(Zone)}");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var report = JsonSerializer.Deserialize<SlaReport>(await response.Content.ReadAsStringAsync(), Json)!;
        report.Requests.Total.ShouldBe(data.Requests, "every generated request is in the month");
        report.DowntimeEventCount.ShouldBe(4, "deployment+probe merged, db failover, network, cache health checks");

        // The figures shown are the API's, to the precision shown.
        page.ConsoleErrors.ShouldBeEmpty();
        page.Requests.ShouldBe(report.Requests.Total);
        page.Errors.ShouldBe(report.Requests.Errors);
        page.DowntimeRows.ShouldBe(report.DowntimeEventCount);
        page.Overall.ShouldBe(Verdict(report));
        page.Customer.ShouldNotBeNull();
        ShouldShow(page.Metrics, report, "service");
        page.Services.Select(s => s.Service).ShouldBe([data.Service]);
        page.Services[0].Sla.ShouldBeOneOf("met", "BREACHED");

        // The landing page: the current month holds no data yet (the data is last month's), so the page opens on the
        // latest month with data and says so; the empty current month, picked in the page, shows "no data", never met.
        page.Landing.Month.ShouldBe(data.Month);
        page.Landing.Period.ShouldStartWith(data.Month);
        page.Landing.Services.Single().Sla.ShouldBe(report.Status == SlaStatus.Breached ? "BREACHED" : report.Status);
        page.CurrentMonth.Month.ShouldNotBe(data.Month);
        page.CurrentMonth.Services.Select(s => s.Service).ShouldBe([data.Service]);
        page.CurrentMonth.Services[0].Sla.ShouldBe("no data");
        page.CurrentMonth.Services[0].Cells.Take(5).ShouldAllBe(cell => cell == "—", "no actual value without requests");
        page.CurrentMonth.Message.ShouldContain($"No service recorded anything in {page.CurrentMonth.Month}");

        // Every chart drew its series (pixels of each series colour), and the uptime chart its downtime shading,
        // per day (the page's default for a month) and per hour (switched in the page).
        page.Charts.Select(c => c.Id).ShouldBe(["latencyChart", "errorChart", "uptimeChart", "budgetChart"]);
        page.OtherStepCharts.Select(c => c.Id).ShouldBe(page.Charts.Select(c => c.Id));
        foreach (var chart in page.Charts.Concat(page.OtherStepCharts))
        {
            chart.Width.ShouldBeGreaterThan(400, chart.Id);
            chart.NonBlank.ShouldBeGreaterThan(chart.Width * 10, $"{chart.Id} looks blank");
            foreach (var (color, pixels) in chart.Colors)
            {
                pixels.ShouldBeGreaterThan(color.StartsWith("rgba", StringComparison.Ordinal) ? 20 : 150, $"{chart.Id}: too few pixels of {color}");
            }
        }

        // One customer, picked in the page: exactly the requests sent naming it, every figure its report's, the charts
        // drawn from its series; the choice is in the link (which opens on it again), and "all customers" is the service.
        var picked = page.Customer!;
        picked.PickerShown.ShouldBeTrue();
        picked.Options.Select(o => o.Value).ShouldBe(["", .. Customers]);
        picked.Options[0].Text.ShouldBe("all customers");
        var customerResponse = await app.Client.GetAsync($"/api/reports/{data.Service}?month={data.Month}&tz={Uri.EscapeDataString(Zone)}&customer={Customers[0]}");
        customerResponse.StatusCode.ShouldBe(HttpStatusCode.OK);
        var customerReport = JsonSerializer.Deserialize<SlaReport>(await customerResponse.Content.ReadAsStringAsync(), Json)!;
        customerReport.Requests.Total.ShouldBe(data.RequestsByCustomer[Customers[0]]);
        picked.Requests.ShouldBe(data.RequestsByCustomer[Customers[0]], "the requests sent naming the customer");
        picked.Requests.ShouldBeLessThan(page.Requests);
        picked.Errors.ShouldBe(customerReport.Requests.Errors);
        picked.Shown.ShouldBe(Customers[0]);
        picked.Url.ShouldContain($"customer={Customers[0]}");
        picked.Overall.ShouldBe(Verdict(customerReport));
        picked.DowntimeRows.ShouldBe(report.DowntimeEventCount, "downtime stays the service's");
        ShouldShow(picked.Metrics, customerReport, Customers[0]);
        picked.Charts.Select(c => c.Id).ShouldBe(page.Charts.Select(c => c.Id));
        picked.Charts.ShouldAllBe(c => c.NonBlank > c.Width * 10);
        picked.Reloaded.Selected.ShouldBe(Customers[0]);
        picked.Reloaded.Requests.ShouldBe(picked.Requests);
        picked.All.Url.ShouldNotContain("customer=");
        picked.All.Requests.ShouldBe(page.Requests);
        picked.All.Customer.ShouldBeNull();

        // The key entered in the page went out with every API request.
        page.Api.Requests.ShouldBeGreaterThanOrEqualTo(3);
        page.Api.WithKey.ShouldBe(page.Api.Requests);
        File.Exists(screenshot).ShouldBeTrue();
    }

    private static string Verdict(SlaReport report) => report.Status == SlaStatus.Breached ? "BREACHED" : report.Status;

    /// <summary>The report table shows every metric of the report, to the precision shown.</summary>
    private static void ShouldShow(List<ShownMetric> shownMetrics, SlaReport report, string what)
    {
        shownMetrics.Select(m => m.Metric).ShouldBe(report.Metrics.Select(m => m.Metric), what);
        foreach (var metric in report.Metrics)
        {
            var shown = shownMetrics.Single(m => m.Metric == metric.Metric);
            var label = $"{what}: {metric.Metric}";
            shown.Target!.Value.ShouldBe(metric.Target, 1e-9, label);
            var decimals = metric.Unit == "%" ? 4 : 1;
            shown.Actual!.Value.ShouldBe(metric.Actual!.Value, (0.5 * Math.Pow(10, -decimals)) + 1e-9, label);
            shown.Result.ShouldBe(metric.Status, label);
        }
    }

    [Fact]
    public async Task the_series_endpoint_adds_up_to_the_report_in_every_step_size()
    {
        var data = MonthOfTelemetry.PreviousMonth("search", "America/New_York", requests: 8_000, seed: 5, customers: ["tenant-1", "tenant-2"]);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        var query = $"month={data.Month}&tz={Uri.EscapeDataString(data.TimeZone)}";
        var report = JsonSerializer.Deserialize<SlaReport>(await app.Client.GetStringAsync($"/api/reports/search?{query}"), Json)!;

        foreach (var step in new[] { "hour", "day" })
        {
            var series = JsonSerializer.Deserialize<SlaSeries>(await app.Client.GetStringAsync($"/api/reports/search/series?{query}&step={step}"), Json)!;
            series.From.ShouldBe(report.From);
            series.To.ShouldBe(report.To);
            series.Points.Sum(p => p.Requests).ShouldBe(report.Requests.Total, step);
            series.Points.Sum(p => p.Errors).ShouldBe(report.Requests.Errors, step);
            series.Points.Sum(p => p.DowntimeSeconds).ShouldBe(report.Uptime.Downtime.TotalSeconds, 1e-6, step);
            series.Downtime.Count.ShouldBe(report.DowntimeEventCount);
            series.Points[^1].ErrorBudgetConsumedPercent!.Value.ShouldBe(report.ErrorBudget.ConsumedPercent!.Value, 1e-9, step);
            series.Points[^1].DowntimeBudgetConsumedPercent!.Value.ShouldBe(report.DowntimeBudget.ConsumedPercent!.Value, 1e-9, step);
            series.Points.Count.ShouldBe(step == "day"
                ? DateTime.DaysInMonth(int.Parse(data.Month[..4], CultureInfo.InvariantCulture), int.Parse(data.Month[5..], CultureInfo.InvariantCulture))
                : (int)(report.To - report.From).TotalHours);
        }

        // A customer's series adds up to its report: the requests sent naming it; downtime stays the service's.
        foreach (var (customer, sent) in data.RequestsByCustomer)
        {
            var customerReport = JsonSerializer.Deserialize<SlaReport>(await app.Client.GetStringAsync($"/api/reports/search?{query}&customer={customer}"), Json)!;
            customerReport.Requests.Total.ShouldBe(sent, customer);
            var series = JsonSerializer.Deserialize<SlaSeries>(await app.Client.GetStringAsync($"/api/reports/search/series?{query}&step=day&customer={customer}"), Json)!;
            series.Customer.ShouldBe(customer);
            series.Points.Sum(p => p.Requests).ShouldBe(sent, customer);
            series.Points.Sum(p => p.Errors).ShouldBe(customerReport.Requests.Errors, customer);
            series.Points.Sum(p => p.DowntimeSeconds).ShouldBe(report.Uptime.Downtime.TotalSeconds, 1e-6, customer);
            series.Points[^1].ErrorBudgetConsumedPercent!.Value.ShouldBe(customerReport.ErrorBudget.ConsumedPercent!.Value, 1e-9, customer);
        }
        (await app.Client.GetAsync($"/api/reports/search/series?{query}&customer=tenant-1&endpoint=GET%20%2Fcart")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await app.Client.GetAsync($"/api/reports/search/series?{query}&customer=tenant-3")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        (await app.Client.GetAsync($"/api/reports/search/series?{query}&step=week")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await app.Client.GetAsync($"/api/reports/search/series?from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z&step=hour")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    private sealed record PageFigures(
        StatusPage Landing, StatusPage CurrentMonth, List<ServiceRow> Services, string Overall, long Requests, long Errors, int DowntimeRows, List<ShownMetric> Metrics,
        List<ChartPixels> Charts, List<ChartPixels> OtherStepCharts, PickedCustomer? Customer, ApiRequests Api, List<string> ConsoleErrors);

    /// <param name="Shown">The customer the page's summary names.</param>
    private sealed record PickedCustomer(
        bool PickerShown, List<PickerOption> Options, string Url, [property: JsonPropertyName("customer")] string? Shown, string Overall, long Requests, long Errors,
        int DowntimeRows, List<ShownMetric> Metrics, List<ChartPixels> Charts, ReloadedPage Reloaded, CustomerPage All);

    private sealed record PickerOption(string Value, string Text);

    private sealed record ReloadedPage(string Selected, long Requests);

    private sealed record CustomerPage(string Url, string? Customer, long Requests);

    private sealed record ServiceRow(string Service, string Sla, List<string> Cells);

    private sealed record StatusPage(string Month, string Url, string Period, string Message, List<ServiceRow> Services);

    private sealed record ShownMetric(string Metric, double? Target, double? Actual, string Result);

    private sealed record ChartPixels(string Id, int Width, int Height, long NonBlank, Dictionary<string, long> Colors);

    private sealed record ApiRequests(int Requests, int WithKey);
}
