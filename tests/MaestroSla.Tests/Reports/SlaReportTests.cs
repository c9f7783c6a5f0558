using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>
/// Every figure of a report against a brute-force computation over the raw generated data, over windows that
/// cross minute, hour, day and month boundaries in a time zone with a DST change near them.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class SlaReportTests(ServicesFixture services)
{
    private const string Zone = "America/New_York";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task reports_match_a_brute_force_computation_over_the_raw_data_across_boundaries_in_a_time_zone()
    {
        var data = GeneratedTelemetry.AroundLastMonthBoundary(Zone, seed: 31);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app.Client, data.Requests.Count);
        await WaitForProjectionsAsync(app);

        // The calendar month that ends at the boundary, in New York time.
        var month = data.BoundaryLocal.AddMonths(-1).ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var monthReport = await GetReportAsync(app, $"/api/reports/{GeneratedTelemetry.Service}?month={month}&tz={Zone}");
        monthReport.To.ShouldBe(data.Boundary);
        monthReport.TimeZone.ShouldBe(Zone);
        data.AssertMatches(monthReport);

        // Odd edges: inside minutes, hours and days on both sides of the month boundary.
        var from = data.Boundary.AddDays(-1).AddHours(-3).AddMinutes(-17).AddSeconds(-29);
        var to = data.Boundary.AddDays(1).AddHours(5).AddMinutes(43).AddSeconds(11);
        var rangeReport = await GetReportAsync(app, $"/api/reports/{GeneratedTelemetry.Service}?from={Iso(from)}&to={Iso(to)}&tz={Zone}");
        data.AssertMatches(rangeReport);
        rangeReport.DowntimeEventCount.ShouldBeGreaterThan(1, "the generated downtime must fall in the window for this test to mean anything");

        // One endpoint: its own requests and latency, the service's downtime.
        var endpointReport = await GetReportAsync(app, $"/api/reports/{GeneratedTelemetry.Service}?endpoint={Uri.EscapeDataString("POST /invoices")}&from={Iso(from)}&to={Iso(to)}");
        endpointReport.Endpoint.ShouldBe("POST /invoices");
        data.AssertMatches(endpointReport, data.Requests.Where(r => r.Endpoint == "POST /invoices").ToList());

        // The month after the boundary (to now): the status view uses it.
        var afterReport = await GetReportAsync(app, $"/api/reports/{GeneratedTelemetry.Service}?tz={Zone}");
        afterReport.From.ShouldBe(data.Boundary);
        data.AssertMatches(afterReport);
    }

    [Fact]
    public async Task a_report_as_of_an_earlier_moment_counts_only_events_recorded_by_then_and_late_events_change_it_by_exactly_themselves()
    {
        var data = GeneratedTelemetry.AroundLastMonthBoundary(Zone, seed: 37);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        var firstPart = data.Requests.Count * 2 / 3;
        await data.PostAsync(app.Client, firstPart);
        await WaitForProjectionsAsync(app);
        await Task.Delay(50);
        var asOf = DateTimeOffset.UtcNow;
        await Task.Delay(50);

        var from = data.Boundary.AddDays(-2);
        var to = data.Boundary.AddDays(2);
        var url = $"/api/reports/{GeneratedTelemetry.Service}?from={Iso(from)}&to={Iso(to)}&tz={Zone}";
        var before = await GetReportAsync(app, url);

        // Late events: the remaining third, inside windows the projections have already covered.
        await GeneratedTelemetry.PostRequestsAsync(app.Client, data.Requests.Skip(firstPart).ToList());
        await WaitForProjectionsAsync(app);

        var after = await GetReportAsync(app, url);
        var asOfReport = await GetReportAsync(app, url + $"&asOf={Iso(asOf)}");
        var asOfNow = await GetReportAsync(app, url + $"&asOf={Iso(DateTimeOffset.UtcNow)}");

        data.AssertMatches(after);
        data.AssertMatches(asOfNow);
        data.AssertMatches(asOfReport, data.Requests.Take(firstPart).ToList());
        asOfReport.Requests.ShouldBe(before.Requests);
        asOfReport.Latency.ShouldBe(before.Latency);
        var late = data.Requests.Skip(firstPart).Where(r => r.At >= from && r.At < to).ToList();
        late.Count.ShouldBeGreaterThan(1000);
        (after.Requests.Total - before.Requests.Total).ShouldBe(late.Count);
        (after.Requests.Errors - before.Requests.Errors).ShouldBe(late.Count(r => r.IsError));
        asOfReport.ComputedAtSequence.ShouldBeLessThan(after.ComputedAtSequence);
    }

    [Fact]
    public async Task targets_set_through_the_api_decide_met_or_breached_and_reports_as_of_earlier_keep_the_old_targets()
    {
        var data = GeneratedTelemetry.AroundLastMonthBoundary(Zone, seed: 41);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app.Client, data.Requests.Count);
        await WaitForProjectionsAsync(app);
        var url = $"/api/reports/{GeneratedTelemetry.Service}?from={Iso(data.Boundary.AddDays(-2))}&to={Iso(data.Boundary.AddDays(2))}";

        var withDefaults = await GetReportAsync(app, url);
        withDefaults.Metrics.Single(m => m.Metric == "latency_p95").Target.ShouldBe(200);
        withDefaults.Metrics.Single(m => m.Metric == "error_rate").Met.ShouldBe(false, "about 1 % errors breach the default 0.1 %");
        withDefaults.OverallMet.ShouldBe(false);
        await Task.Delay(50);
        var beforeChange = DateTimeOffset.UtcNow;
        await Task.Delay(50);

        var put = await app.Client.PutAsJsonAsync($"/api/services/{GeneratedTelemetry.Service}/targets",
            new { uptimePercent = 90.0, availabilityPercent = 95.0, p95Ms = 10_000.0, p99Ms = 20_000.0, errorRatePercent = 5.0 });
        put.StatusCode.ShouldBe(HttpStatusCode.OK, await put.Content.ReadAsStringAsync());

        var relaxed = await GetReportAsync(app, url);
        relaxed.Metrics.ShouldAllBe(m => m.Met == true);
        relaxed.OverallMet.ShouldBe(true);
        relaxed.TargetsSource.ShouldStartWith("set through the API");
        (await GetReportAsync(app, url + $"&asOf={Iso(beforeChange)}")).Metrics.Single(m => m.Metric == "error_rate").Target.ShouldBe(0.1);

        var invalid = await app.Client.PutAsJsonAsync($"/api/services/{GeneratedTelemetry.Service}/targets", new { uptimePercent = 150.0 });
        invalid.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        // A misspelt target is refused, not ignored (it would set every target to its default).
        var misspelt = await app.Client.PutAsJsonAsync($"/api/services/{GeneratedTelemetry.Service}/targets", new { uptimePercnt = 99.0 });
        misspelt.StatusCode.ShouldBe(HttpStatusCode.BadRequest, await misspelt.Content.ReadAsStringAsync());
        var inForce = await app.Client.GetFromJsonAsync<JsonElement>($"/api/services/{GeneratedTelemetry.Service}/targets");
        inForce.GetProperty("targets").GetProperty("errorRatePercent").GetDouble().ShouldBe(5.0, "the refused body stored nothing");

        var status = await app.Client.GetFromJsonAsync<JsonElement>("/api/status");
        status.EnumerateArray().Single().GetProperty("service").GetString().ShouldBe(GeneratedTelemetry.Service);

        var csv = await app.Client.GetStringAsync(url + "&format=csv");
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldStartWith("service,period_start,period_end,time_zone,as_of,metric");
        lines.Length.ShouldBe(1 + 5);
        lines.ShouldContain(l => l.Contains(",error_rate,") && l.Contains(",True,"));

        (await app.Client.GetAsync($"/api/reports/{GeneratedTelemetry.Service}?month=2026-13")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await app.Client.GetAsync($"/api/reports/{GeneratedTelemetry.Service}?tz=Mars/Olympus")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O", System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<SlaReport> GetReportAsync(RunningApp app, string url)
    {
        var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<SlaReport>(body, Json)!;
    }

    private static Task WaitForProjectionsAsync(RunningApp app) =>
        app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
}
