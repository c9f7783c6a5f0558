using System.Text.Json;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Statements;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Statements;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// A contract with customerId counts only that customer's requests of its services — in availability, error rate and
/// latency, with excludeRequests leaving that customer's requests in maintenance windows out — while downtime stays the
/// service's; issued, its document comes back byte for byte, and only that customer's late requests amend it.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class CustomerStatementTests(ServicesFixture services)
{
    private const string Month = "2026-10";
    private const double Exact = 1e-9;
    private static readonly DateTimeOffset First = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset At(int day, int hour, int minute = 0, int second = 0) =>
        First.AddDays(day - 1).AddHours(hour).AddMinutes(minute).AddSeconds(second);

    /// <summary>
    /// tenant-a: 100 good (50 ms) and 2 failed (80 ms) on day 5; 10 slow ones (900 ms, 5 failed) inside the window on day 10.
    /// tenant-b: 50 failures (2 s) on day 5, which would break the availability target were they counted.
    /// (other): 7 good inside the window.
    /// </summary>
    private static List<CustomerRequest> Requests()
    {
        var requests = new List<CustomerRequest>();
        void Add(int count, DateTimeOffset at, string endpoint, string customer, long micros, int errors)
        {
            for (var i = 0; i < count; i++)
            {
                requests.Add(new CustomerRequest(at, endpoint, customer, micros, i < errors));
            }
        }
        Add(100, At(5, 12, 0, 10), "GET /a", CustomerEvents.TenantA, 50_000, 0);
        Add(2, At(5, 12, 1), "POST /b", CustomerEvents.TenantA, 80_000, 2);
        Add(10, At(10, 2, 30), "GET /a", CustomerEvents.TenantA, 900_000, 5);
        Add(50, At(5, 12, 0, 30), "GET /a", CustomerEvents.TenantB, 2_000_000, 50);
        Add(7, At(10, 2, 30, 20), "POST /b", SeriesCatalogTable.OtherCustomer, 30_000, 0);
        return requests;
    }

    private static object Contract(string? customerId) => new
    {
        services = new[] { CustomerEvents.Service },
        customerId,
        timeZone = "UTC",
        measure = "combined",
        effectiveFrom = Month,
        targets = new Dictionary<string, double> { ["uptime"] = 99.9, ["availability"] = 99.5, ["latency_p99"] = 300 },
        maintenance = new { excludeDowntime = true, excludeRequests = true },
        credits = new[] { new { below = 99.9, percent = 10.0 } },
        creditMetric = "uptime",
    };

    [Fact]
    public async Task a_contract_with_customer_id_counts_only_that_customers_requests_and_its_issued_statement_stays_byte_for_byte()
    {
        var requests = Requests();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await CustomerEvents.AppendAsync(store.Store, [.. CustomerEvents.Events(requests),
            new DowntimeRecorded(CustomerEvents.Service, At(10, 3, 30), At(10, 4, 30), "disk")]);
        await ContractMonth.ScheduleAsync(app, CustomerEvents.Service, At(10, 2), At(10, 4), "upgrade");
        await CustomerEvents.WaitForProjectionsAsync(store.Store);
        await ContractMonth.PutContractAsync(app, "acme", Contract(CustomerEvents.TenantA));
        await ContractMonth.PutContractAsync(app, "everyone", Contract(null));
        var url = $"/api/contracts/acme/statements/{Month}";

        var s = await StatementTests.GetAsync(app, url);

        s.CustomerId.ShouldBe(CustomerEvents.TenantA);
        // The spreadsheet says it too, in its last column (every row: the service and the combined one).
        var csv = (await app.Client.GetStringAsync(url + "?format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        csv[0].TrimEnd('\r').ShouldEndWith(",customer_id");
        csv.Skip(1).ShouldAllBe(row => row.TrimEnd('\r').EndsWith("," + CustomerEvents.TenantA));
        var shop = s.Services.Single();
        var tenantA = requests.Where(r => r.Customer == CustomerEvents.TenantA).ToList();
        var kept = tenantA.Where(r => r.At < At(10, 2) || r.At >= At(10, 4)).ToList();
        (shop.Requests, shop.ExcludedRequests, shop.Errors, shop.ExcludedErrors).ShouldBe((112L, 10L, 7L, 5L));
        shop.AvailabilityPercent.Raw!.Value.ShouldBe(100.0 * 105 / 112, Exact);
        shop.AvailabilityPercent.Adjusted!.Value.ShouldBe(100.0 * 100 / 102, Exact);
        shop.ErrorRatePercent.Adjusted!.Value.ShouldBe(100.0 * 2 / 102, Exact);
        shop.LatencyP99Ms.Raw!.Value.ShouldBe(ContractMonth.P99(tenantA.Select(r => r.Micros / 1000.0)));
        shop.LatencyP99Ms.Raw!.Value.ShouldBe(900, 1);
        shop.LatencyP99Ms.Adjusted!.Value.ShouldBe(ContractMonth.P99(kept.Select(r => r.Micros / 1000.0)));
        shop.LatencyP99Ms.Adjusted!.Value.ShouldBe(80, 0.1);
        // Downtime is the service's: an hour, half of it inside the two-hour window.
        (shop.DowntimeSeconds, shop.ExcludedDowntimeSeconds, shop.MaintenanceSeconds).ShouldBe((3600.0, 1800.0, 7200.0));
        s.Combined!.Requests.ShouldBe(112);
        // Uptime (|P| − 7200 − 1800) / (|P| − 7200) = 99.93 % is met; tenant-a's adjusted availability (98.04 %) is not.
        s.Metrics.Select(m => (m.Metric, m.Status)).ShouldBe([("uptime", "met"), ("availability", "breached"), ("latency_p99", "met")]);

        // Without customerId every request counts (tenant-b's failures too), and the document has no customerId at all.
        var everyoneJson = await app.Client.GetStringAsync($"/api/contracts/everyone/statements/{Month}");
        everyoneJson.ShouldNotContain("customerId");
        (await app.Client.GetStringAsync($"/api/contracts/everyone/statements/{Month}?format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).ShouldAllBe(row => row.TrimEnd('\r').EndsWith(','));
        var everyone = JsonSerializer.Deserialize<Statement>(everyoneJson, Json)!.Services.Single();
        (everyone.Requests, everyone.ExcludedRequests, everyone.Errors).ShouldBe((169L, 17L, 57L));

        // Issued from the event log as of the moment of issue: the customer's events, the same figures, the same bytes later.
        var (_, issuedBytes) = await ContractMonth.IssueAsync(app, url);
        System.Text.Encoding.UTF8.GetString(issuedBytes).ShouldContain("\"customerId\":\"tenant-a\"");
        var issued = JsonSerializer.Deserialize<Statement>(issuedBytes, Json)!;
        Figures(issued).ShouldBe(Figures(s));

        // Late requests of another customer change nothing; tenant-a's amend the statement by exactly themselves.
        await CustomerEvents.AppendAsync(store.Store, CustomerEvents.Events(
            [.. Enumerable.Range(0, 20).Select(_ => new CustomerRequest(At(6, 9), "GET /a", CustomerEvents.TenantB, 60_000, true))]));
        await CustomerEvents.WaitForProjectionsAsync(store.Store);
        (await StatementTests.GetAsync(app, url)).Amendments.ShouldBeEmpty();
        await CustomerEvents.AppendAsync(store.Store, CustomerEvents.Events(
            [.. Enumerable.Range(0, 3).Select(_ => new CustomerRequest(At(6, 9), "GET /a", CustomerEvents.TenantA, 60_000, false))]));
        await CustomerEvents.WaitForProjectionsAsync(store.Store);
        var amended = await StatementTests.GetAsync(app, url);
        var amendment = amended.Amendments.ShouldHaveSingleItem();
        amendment.Kind.ShouldBe("late requests");
        amendment.Description.ShouldBe("3 requests of shop in the period, recorded after issue");
        amendment.Changes.Single(c => c.Figure == "services.shop.requests").ShouldBe(new FigureChange("services.shop.requests", 112, 115));
        amended.Services.Single().Requests.ShouldBe(115);
        (await app.Client.GetByteArrayAsync(url + "?asIssued=true")).ShouldBe(issuedBytes);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static string Figures(Statement s) => JsonSerializer.Serialize(s with { AsOf = null, Issued = null, Amendments = [] }, Json);
}
