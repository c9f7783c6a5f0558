using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Contracts.Statements;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Statements;

/// <summary>
/// Statements on data laid out by hand (<see cref="ContractMonth"/>): every figure against its formula, combined and each,
/// excludeRequests on whole minutes, raw beside adjusted, credits, CSV, the month in progress and contract versions.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class StatementTests(ServicesFixture services)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private const double Exact = 1e-9;

    [Fact]
    public async Task combined_takes_downtime_and_windows_over_both_services_and_leaves_whole_window_minutes_out_of_requests()
    {
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract());

        var s = await GetAsync(app, $"/api/contracts/acme/statements/{data.Month}");

        var p = data.Seconds;
        s.Customer.ShouldBe("acme");
        s.Month.ShouldBe(data.Month);
        s.TimeZone.ShouldBe("UTC");
        s.Status.ShouldBe("final");
        s.PeriodStart.ShouldBe(data.First);
        s.PeriodEnd.ShouldBe(data.First.AddMonths(1));
        s.ContractVersion.ShouldBe(1);
        s.MaintenanceWindows.Select(w => (w.Service, w.Start, w.End)).ShouldBe(
            [(ContractMonth.Alpha, data.At(10, 2), data.At(10, 4)), (ContractMonth.Beta, data.At(12, 5, 0, 30), data.At(12, 6, 0, 30))]);

        // D = 60 + 20 min over both services; M = 2 h + 1 h; D ∩ M = alpha's 30 minutes inside its own window.
        var c = s.Combined!;
        c.DowntimeSeconds.ShouldBe(4800);
        c.ExcludedDowntimeSeconds.ShouldBe(1800);
        c.MaintenanceSeconds.ShouldBe(10800);
        c.UptimePercent.Raw!.Value.ShouldBe(100 * (p - 4800) / p, Exact);
        c.UptimePercent.Adjusted!.Value.ShouldBe(100 * (p - 10800 - 3000) / (p - 10800), Exact);
        // Requests: alpha's 40 at 02:30 and beta's 7 at 05:30 lie in whole minutes inside M; beta's 5 at 05:00:45 and
        // 3 at 06:00:15 are in minutes the window's edges cut, so they count.
        c.Requests.ShouldBe(356);
        c.ExcludedRequests.ShouldBe(47);
        c.Errors.ShouldBe(28);
        c.ExcludedErrors.ShouldBe(27);
        c.AvailabilityPercent.Raw!.Value.ShouldBe(100.0 * 328 / 356, Exact);
        c.AvailabilityPercent.Adjusted!.Value.ShouldBe(100.0 * 308 / 309, Exact);
        c.ErrorRatePercent.Raw!.Value.ShouldBe(100.0 * 28 / 356, Exact);
        c.ErrorRatePercent.Adjusted!.Value.ShouldBe(100.0 * 1 / 309, Exact);
        c.LatencyP99Ms.Raw!.Value.ShouldBe(ContractMonth.P99(data.Requests.Select(r => r.LatencyMs)));
        c.LatencyP99Ms.Raw!.Value.ShouldBe(900, 1);
        c.LatencyP99Ms.Adjusted!.Value.ShouldBe(ContractMonth.P99(data.Requests.Where(r => r.LatencyMs < 700).Select(r => r.LatencyMs)));
        c.LatencyP99Ms.Adjusted!.Value.ShouldBe(100, 0.1);

        var alpha = s.Services.Single(f => f.Service == ContractMonth.Alpha);
        (alpha.Requests, alpha.ExcludedRequests, alpha.Errors, alpha.ExcludedErrors).ShouldBe((141L, 40L, 21L, 20L));
        (alpha.DowntimeSeconds, alpha.ExcludedDowntimeSeconds, alpha.MaintenanceSeconds).ShouldBe((3600.0, 1800.0, 10800.0));
        alpha.UptimePercent.Adjusted!.Value.ShouldBe(100 * (p - 10800 - 1800) / (p - 10800), Exact);
        var beta = s.Services.Single(f => f.Service == ContractMonth.Beta);
        (beta.Requests, beta.ExcludedRequests, beta.Errors, beta.ExcludedErrors).ShouldBe((215L, 7L, 7L, 7L));
        beta.UptimePercent.Raw!.Value.ShouldBe(100 * (p - 1200) / p, Exact);

        // Uptime 99.88 % misses 99.9 %: breached, and the credit is the largest percent whose below exceeds it (10).
        s.Metrics.Select(m => (m.Metric, m.Target, m.Status)).ShouldBe(
            [("uptime", 99.9, "breached"), ("availability", 99.5, "met"), ("latency_p99", 300.0, "met")]);
        s.Metrics[0].Actual!.Value.ShouldBe(c.UptimePercent.Adjusted!.Value);
        s.Met.ShouldBe(false);
        s.Overall.ShouldBe("breached");
        s.CreditMetric.ShouldBe("uptime");
        s.CreditMetricActual!.Value.ShouldBe(c.UptimePercent.Adjusted!.Value);
        s.CreditPercent.ShouldBe(10);
        s.Issued.ShouldBeNull();
        s.Amendments.ShouldBeEmpty();

        // The same as a spreadsheet: one row per service and the combined one.
        var csv = await app.Client.GetStringAsync($"/api/contracts/acme/statements/{data.Month}?format=csv");
        var lines = csv.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        lines.Length.ShouldBe(4);
        lines[0].ShouldStartWith("customer,month,time_zone,status,period_start,period_end,as_of,contract_version,measure,service,requests,excluded_requests");
        lines[3].ShouldStartWith($"acme,{data.Month},UTC,final,");
        lines[3].ShouldContain(",(combined),356,47,28,27,4800,1800,10800,");
        // …, contract status, credit metric, credit percent, and no customer_id: every request of the services counts.
        lines[3].ShouldEndWith(",breached,breached,uptime,10,");
    }

    [Fact]
    public async Task each_judges_every_service_on_its_own_windows_and_the_contract_is_met_only_if_every_service_is()
    {
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract(measure: "each"));
        await ContractMonth.PutContractAsync(app, "plain", data.Contract(excludeRequests: false));

        var s = await GetAsync(app, $"/api/contracts/acme/statements/{data.Month}");

        var p = data.Seconds;
        s.Combined.ShouldBeNull();
        var alpha = s.Services.Single(f => f.Service == ContractMonth.Alpha);
        var beta = s.Services.Single(f => f.Service == ContractMonth.Beta);
        alpha.MaintenanceSeconds.ShouldBe(7200);
        beta.MaintenanceSeconds.ShouldBe(3600);
        alpha.UptimePercent.Adjusted!.Value.ShouldBe(100 * (p - 7200 - 1800) / (p - 7200), Exact);
        beta.UptimePercent.Adjusted!.Value.ShouldBe(100 * (p - 3600 - 1200) / (p - 3600), Exact);
        // alpha keeps 101 requests with 1 failure (99.01 %, below 99.5 %); beta keeps 208 without one.
        (alpha.ExcludedRequests, beta.ExcludedRequests).ShouldBe((40L, 7L));
        alpha.AvailabilityPercent.Adjusted!.Value.ShouldBe(100.0 * 100 / 101, Exact);
        beta.AvailabilityPercent.Adjusted!.Value.ShouldBe(100);
        (alpha.Status, beta.Status).ShouldBe(("breached", "met"));

        // The contract's figure is the worst service's: uptime alpha's (met), availability alpha's (breached).
        s.Metrics.Select(m => (m.Metric, m.Status)).ShouldBe([("uptime", "met"), ("availability", "breached"), ("latency_p99", "met")]);
        s.Metrics[0].Actual!.Value.ShouldBe(alpha.UptimePercent.Adjusted!.Value);
        s.Metrics[1].Actual!.Value.ShouldBe(100.0 * 100 / 101, Exact);
        s.Metrics[2].Actual!.Value.ShouldBe(Math.Max(alpha.LatencyP99Ms.Adjusted!.Value, beta.LatencyP99Ms.Adjusted!.Value));
        s.Met.ShouldBe(false);
        s.CreditPercent.ShouldBe(0, "uptime 99.93 % is above every credit threshold");

        // Without excludeRequests the adjusted request figures are the raw ones; uptime is still adjusted.
        var plain = await GetAsync(app, $"/api/contracts/plain/statements/{data.Month}");
        plain.Combined!.ExcludedRequests.ShouldBe(0);
        plain.Combined.AvailabilityPercent.Adjusted!.Value.ShouldBe(100.0 * 328 / 356, Exact);
        plain.Combined.AvailabilityPercent.Raw!.Value.ShouldBe(100.0 * 328 / 356, Exact);
        plain.Combined.UptimePercent.Adjusted!.Value.ShouldBe(100 * (p - 10800 - 3000) / (p - 10800), Exact);
    }

    [Fact]
    public async Task a_month_uses_the_newest_version_in_force_then_and_the_month_in_progress_is_partial()
    {
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        var twoMonthsAgo = data.First.AddMonths(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var current = data.First.AddMonths(1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract(effectiveFrom: twoMonthsAgo, uptime: 99.0));
        await ContractMonth.PutContractAsync(app, "acme", data.Contract(effectiveFrom: current, uptime: 99.99));
        await Task.Delay(50);
        var beforeThird = DateTimeOffset.UtcNow;
        await Task.Delay(50);

        var last = await GetAsync(app, $"/api/contracts/acme/statements/{data.Month}");
        last.ContractVersion.ShouldBe(1);
        last.Metrics[0].Target.ShouldBe(99.0);
        var now = await GetAsync(app, $"/api/contracts/acme/statements/{current}");
        now.ContractVersion.ShouldBe(2);
        now.Status.ShouldBe("partial");
        now.ScheduledEnd.ShouldBe(data.First.AddMonths(2));
        now.PeriodEnd.ShouldBeInRange(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(2));

        await ContractMonth.PutContractAsync(app, "acme", data.Contract(effectiveFrom: data.Month, uptime: 99.95));
        (await GetAsync(app, $"/api/contracts/acme/statements/{data.Month}")).ContractVersion.ShouldBe(3);
        var asOf = await GetAsync(app, $"/api/contracts/acme/statements/{data.Month}?asOf={Uri.EscapeDataString(beforeThird.ToString("O"))}");
        asOf.ContractVersion.ShouldBe(1);
        asOf.AsOf.ShouldBe(beforeThird);

        var listed = JsonDocument.Parse(await app.Client.GetStringAsync("/api/contracts/acme")).RootElement;
        listed.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).ShouldBe([1, 2, 3]);
        listed.GetProperty("versions")[0].GetProperty("author").GetString().ShouldBe("tests-admin");
        listed.GetProperty("current").GetProperty("terms").GetProperty("effectiveFrom").GetString().ShouldBe(data.Month);
        var all = JsonDocument.Parse(await app.Client.GetStringAsync("/api/contracts")).RootElement;
        all.EnumerateArray().Select(c => c.GetProperty("customer").GetString()).ShouldBe(["acme"]);

        // PUTs at the same moment each get their own version.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => ContractMonth.PutContractAsync(app, "globex", data.Contract(uptime: 99.0 + (i / 10.0)))));
        var globex = JsonDocument.Parse(await app.Client.GetStringAsync("/api/contracts/globex")).RootElement;
        globex.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).ShouldBe([1, 2, 3, 4, 5, 6, 7, 8]);

        // Before any version takes effect there is no statement; an unknown customer is 404 naming the nearest.
        (await app.Client.GetAsync($"/api/contracts/acme/statements/{data.First.AddMonths(-2):yyyy-MM}")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        var unknown = await app.Client.GetAsync($"/api/contracts/acmee/statements/{data.Month}");
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await unknown.Content.ReadAsStringAsync()).ShouldContain("acme");
        (await app.Client.GetAsync($"/api/contracts/acme/statements/2026-13")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task bad_contracts_get_a_400_naming_the_field_and_store_nothing()
    {
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        var valid = JsonSerializer.Serialize(data.Contract(), Json);
        (string Body, string Field, string Says)[] cases =
        [
            (valid.Replace("\"beta\"", "\"betta\"", StringComparison.Ordinal), "services[1]", "nearest: beta"),
            (valid.Replace("\"customerId\":null", "\"customerId\":\"tenant|1\"", StringComparison.Ordinal), "customerId", "must not contain '|'"),
            (valid.Replace("\"UTC\"", "\"Mars/Olympus\"", StringComparison.Ordinal), "timeZone", "not a known time zone"),
            (valid.Replace("\"combined\"", "\"both\"", StringComparison.Ordinal), "measure", "combined or each"),
            (valid.Replace("\"percent\":25", "\"percent\":5", StringComparison.Ordinal), "credits[1].percent", "larger than 10"),
            (valid.Replace("\"creditMetric\":\"uptime\"", "\"creditMetric\":\"error_rate\"", StringComparison.Ordinal), "creditMetric", "uptime or availability"),
            (valid.Replace("\"latency_p99\"", "\"latency_p90\"", StringComparison.Ordinal), "targets.latency_p90", "could not be mapped"),
            (valid.Replace("\"below\":99.9", "\"below\":\"high\"", StringComparison.Ordinal), "credits[0].below", "is not valid"),
            ("[1]", "body", "is not valid"),
        ];
        foreach (var (body, field, says) in cases)
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            var response = await app.Client.PutAsync("/api/contracts/acme", content);
            var problem = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body + " → " + problem);
            var errors = JsonDocument.Parse(problem).RootElement.GetProperty("errors");
            errors.TryGetProperty(field, out var messages).ShouldBeTrue(body + " → " + problem);
            messages[0].GetString()!.ShouldContain(says, Case.Sensitive, problem);
        }
        (await app.Client.GetAsync("/api/contracts/acme")).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        JsonDocument.Parse(await app.Client.GetStringAsync("/api/contracts")).RootElement.GetArrayLength().ShouldBe(0);
    }

    internal static async Task<Statement> GetAsync(RunningApp app, string url)
    {
        var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<Statement>(body, Json)!;
    }
}
