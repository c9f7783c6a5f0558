using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Cli;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Cli;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>
/// A period without requests (or without any signal) is "no data" wherever a report shows up — JSON, CSV, the status
/// view, the command line — never "met"; a name nobody recorded is a 404 that points at the names it was meant to be.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class NoDataReportTests(ServicesFixture services)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task a_known_service_without_requests_in_the_period_is_no_data_in_json_csv_status_and_cli_never_met()
    {
        // checkout has last month's data only; "ghost" is only configured; "probe" only sent health checks, just now.
        var data = MonthOfTelemetry.PreviousMonth("checkout", "UTC", requests: 3_000, seed: 3);
        var checkedAt = DateTimeOffset.UtcNow.AddMinutes(-1);
        var month = checkedAt.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        for (var i = 0; i < 3; i++)
        {
            data.Messages.Add(System.Text.Encoding.UTF8.GetString(TestTraffic.Health("probe", "db", "healthy", 1.5, checkedAt.AddSeconds(i))));
        }
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?> { ["Sla:Services:ghost:P95Ms"] = "300" });
        await data.PostAsync(app);

        foreach (var service in new[] { "checkout", "ghost" })
        {
            var raw = await GetOkAsync(app, $"/api/reports/{service}?month={month}");
            raw.ShouldContain("\"met\":null");
            raw.ShouldNotContain("\"met\":true");
            var empty = JsonSerializer.Deserialize<SlaReport>(raw, Json)!;
            empty.Status.ShouldBe(SlaStatus.NoData, service);
            empty.OverallMet.ShouldBeNull(service);
            empty.Metrics.Count.ShouldBe(5);
            empty.Metrics.ShouldAllBe(m => m.Status == SlaStatus.NoData && m.Met == null && m.Actual == null);
            empty.Requests.Total.ShouldBe(0);
            empty.Requests.AvailabilityPercent.ShouldBeNull();
            empty.Uptime.UptimePercent.ShouldBeNull();
            empty.ErrorBudget.RemainingPercent.ShouldBeNull();
        }
        var previous = JsonSerializer.Deserialize<SlaReport>(await GetOkAsync(app, $"/api/reports/checkout?month={data.Month}"), Json)!;
        previous.Status.ShouldNotBe(SlaStatus.NoData, "last month has data");
        previous.Metrics.ShouldAllBe(m => m.Met != null && m.Status == (m.Met == true ? SlaStatus.Met : SlaStatus.Breached));

        // Health checks alone measure uptime, nothing else: the service's overall status stays "no data".
        var probe = JsonSerializer.Deserialize<SlaReport>(await GetOkAsync(app, $"/api/reports/probe?month={month}"), Json)!;
        probe.Metrics.Single(m => m.Metric == "uptime").Status.ShouldBe(SlaStatus.Met);
        probe.Metrics.Single(m => m.Metric == "uptime").Actual.ShouldBe(100);
        probe.Metrics.Where(m => m.Metric != "uptime").ShouldAllBe(m => m.Status == SlaStatus.NoData);
        probe.Status.ShouldBe(SlaStatus.NoData);

        var csv = (await GetOkAsync(app, $"/api/reports/checkout?month={month}&format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        csv[0].TrimEnd('\r').ShouldEndWith(",unit,met,status,computed_at_sequence");
        csv.Length.ShouldBe(6);
        csv.Skip(1).ShouldAllBe(line => line.Contains(",,no data,", StringComparison.Ordinal));

        // Nothing in the current month: the answer links the latest month with data.
        using (var current = await app.Client.GetAsync("/api/status"))
        {
            current.Headers.GetValues("Link").Single().ShouldStartWith($"</api/status?month={data.Month}&tz=UTC>; rel=\"alternate\"");
        }
        using (var asked = await app.Client.GetAsync($"/api/status?month={month}"))
        {
            asked.Headers.Contains("Link").ShouldBeFalse("a month asked for by name is answered as asked");
        }
        var status = JsonSerializer.Deserialize<JsonElement>(await GetOkAsync(app, "/api/status"));
        var checkout = status.EnumerateArray().Single(s => s.GetProperty("service").GetString() == "checkout");
        checkout.GetProperty("status").GetString().ShouldBe(SlaStatus.NoData);
        checkout.GetProperty("overallMet").ValueKind.ShouldBe(JsonValueKind.Null);
        checkout.GetProperty("errorBudgetRemainingPercent").ValueKind.ShouldBe(JsonValueKind.Null);
        var lastMonth = JsonSerializer.Deserialize<JsonElement>(await GetOkAsync(app, $"/api/status?month={data.Month}"));
        lastMonth.EnumerateArray().Single(s => s.GetProperty("service").GetString() == "checkout").GetProperty("status").GetString().ShouldBe(previous.Status);

        // The month the dashboard opens on: the latest with requests, not the empty current one.
        var months = JsonSerializer.Deserialize<JsonElement>(await GetOkAsync(app, "/api/status/months"));
        months.GetProperty("current").GetString().ShouldBe(DateTimeOffset.UtcNow.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        months.GetProperty("latestWithData").GetString().ShouldBe(data.Month);

        var url = app.Client.BaseAddress!.ToString();
        var (reportExit, table) = await CliTests.RunAsync("report", "checkout", "--month", month, "--url", url);
        reportExit.ShouldBe(0, table);
        table.Split('\n').Where(l => l.Contains(" latency_p95 ", StringComparison.Ordinal) || l.Contains(" uptime ", StringComparison.Ordinal))
            .ShouldAllBe(l => l.Contains("no data", StringComparison.Ordinal));
        table.ShouldContain("SLA: no data");
        table.ShouldNotContain(" met ");
        var (statusExit, statusTable) = await CliTests.RunAsync("status", "--month", month, "--url", url);
        statusExit.ShouldBe(0, statusTable);
        statusTable.Split('\n').Single(l => l.Contains("checkout", StringComparison.Ordinal)).ShouldContain("no data");
    }

    [Fact]
    public async Task an_unknown_service_or_endpoint_is_a_404_problem_naming_the_nearest_known_names()
    {
        var data = MonthOfTelemetry.PreviousMonth("checkout", "UTC", requests: 2_000, seed: 4);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?> { ["Sla:Services:payments:P95Ms"] = "300" });
        await data.PostAsync(app);

        var service = await ProblemAsync(app, $"/api/reports/chekout?month={data.Month}", HttpStatusCode.NotFound);
        service.GetProperty("title").GetString().ShouldBe("Unknown service 'chekout'");
        service.GetProperty("nearest").EnumerateArray().Select(e => e.GetString()).ShouldBe(["checkout", "payments"]);
        service.GetProperty("detail").GetString()!.ShouldContain("checkout");

        var endpoint = await ProblemAsync(app, $"/api/reports/checkout?month={data.Month}&endpoint={Uri.EscapeDataString("GET /carts")}", HttpStatusCode.NotFound);
        endpoint.GetProperty("title").GetString()!.ShouldContain("'GET /carts'");
        endpoint.GetProperty("nearest").EnumerateArray().First().GetString().ShouldBe("GET /cart");
        // A known endpoint without requests in the period is no data, not unknown.
        var quiet = JsonSerializer.Deserialize<SlaReport>(
            await GetOkAsync(app, $"/api/reports/checkout?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z&endpoint={Uri.EscapeDataString("GET /cart")}"), Json)!;
        quiet.Status.ShouldBe(SlaStatus.NoData);

        (await ProblemAsync(app, $"/api/reports/chekout/series?month={data.Month}", HttpStatusCode.NotFound))
            .GetProperty("nearest").EnumerateArray().First().GetString().ShouldBe("checkout");
        (await ProblemAsync(app, $"/api/exports/summary?service=chekout&month={data.Month}", HttpStatusCode.NotFound))
            .GetProperty("nearest").EnumerateArray().First().GetString().ShouldBe("checkout");
        // Configured services are known even before they record anything.
        JsonSerializer.Deserialize<SlaReport>(await GetOkAsync(app, $"/api/reports/payments?month={data.Month}"), Json)!.Status.ShouldBe(SlaStatus.NoData);

        var (exit, output) = await CliTests.RunAsync("report", "chekout", "--month", data.Month, "--url", app.Client.BaseAddress!.ToString());
        exit.ShouldBe(1);
        output.ShouldContain("Unknown service 'chekout'");
        output.ShouldContain("checkout");
    }

    private static async Task<string> GetOkAsync(RunningApp app, string url)
    {
        using var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, $"{url}: {body}");
        return body;
    }

    private static async Task<JsonElement> ProblemAsync(RunningApp app, string url, HttpStatusCode expected)
    {
        using var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, $"{url}: {body}");
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json");
        return JsonSerializer.Deserialize<JsonElement>(body);
    }
}
