using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Backup.Restoring;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// GET /api/reports/{service}?customer=: one customer's requests of a shared service, from rollups per (service, customer)
/// folded beside the endpoints' — exact counts and percentiles, downtime the service's, endpoints and the service's own
/// figures untouched, and the same documents after a rebuild from the events.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class CustomerReportTests(ServicesFixture services)
{
    private static readonly DateTimeOffset Day3 = new(2026, 10, 3, 0, 0, 0, TimeSpan.Zero);

    // Minute rollups at the edges (10:30–10:59), hours (11:00–23:59) and a whole day (the 4th); 10:29 and the 5th are outside.
    private static readonly DateTimeOffset From = Day3.AddHours(10).AddMinutes(30);
    private static readonly DateTimeOffset To = Day3.AddDays(2);

    private static readonly DateTimeOffset[] Minutes =
    [
        Day3.AddHours(10).AddMinutes(29), Day3.AddHours(10).AddMinutes(30), Day3.AddHours(10).AddMinutes(45), Day3.AddHours(13),
        Day3.AddHours(23).AddMinutes(59), Day3.AddDays(1), Day3.AddDays(1).AddHours(12), Day3.AddDays(2),
    ];

    /// <summary>
    /// 40 requests a minute: tenant-a half of them and slower, tenant-b failing more often, the rest past the customer limit.
    /// Split into three flushes (every third request), so every series' minutes arrive in three events.
    /// </summary>
    private static List<CustomerRequest>[] Flushes()
    {
        var random = new Random(17);
        var flushes = new[] { new List<CustomerRequest>(), new List<CustomerRequest>(), new List<CustomerRequest>() };
        var index = 0;
        foreach (var minute in Minutes)
        {
            for (var i = 0; i < 40; i++)
            {
                var draw = random.NextDouble();
                var customer = draw < 0.5 ? CustomerEvents.TenantA : draw < 0.8 ? CustomerEvents.TenantB : SeriesCatalogTable.OtherCustomer;
                var endpoint = random.Next(2) == 0 ? "GET /a" : "POST /b";
                var micros = random.Next(1_000, 300_000) + (customer == CustomerEvents.TenantA ? 200_000 : 0);
                var error = random.NextDouble() < (customer == CustomerEvents.TenantB ? 0.3 : 0.05);
                flushes[index++ % 3].Add(new CustomerRequest(minute.AddSeconds(random.Next(60)), endpoint, customer, micros, error));
            }
        }
        return flushes;
    }

    private static List<(long Micros, bool Error)> InPeriod(IEnumerable<CustomerRequest> requests, Func<CustomerRequest, bool> which) =>
        requests.Where(r => r.At >= From && r.At < To && which(r)).Select(r => r.Exact).ToList();

    [Fact]
    public async Task a_customers_report_counts_exactly_its_own_requests_while_downtime_and_the_services_figures_stay_service_wide()
    {
        var flushes = Flushes();
        var all = flushes.SelectMany(f => f).ToList();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await CustomerEvents.AppendAsync(store.Store, new DowntimeRecorded(CustomerEvents.Service, Day3.AddDays(1).AddHours(3), Day3.AddDays(1).AddHours(3).AddMinutes(20), "deploy"));
        foreach (var flush in flushes)
        {
            // One flush at a time: the later ones fold into rollups the earlier ones wrote.
            await CustomerEvents.AppendAsync(store.Store, CustomerEvents.Events(flush));
            await CustomerEvents.WaitForProjectionsAsync(store.Store);
        }

        // The service's report first: were the cache keyed without the customer, the customers' reports below would be this one.
        var wholeService = await ExactReport.GetAsync(app, CustomerEvents.Service, From, To);
        ExactReport.ShouldMatch(wholeService, InPeriod(all, _ => true), "service, each request once");
        wholeService.Customer.ShouldBeNull();
        wholeService.Uptime.Downtime.ShouldBe(TimeSpan.FromMinutes(20));
        // Customers past the limit are shown in the service's report, as endpoints past theirs are.
        wholeService.RequestsOverCustomerLimit.ShouldBe(InPeriod(all, r => r.Customer == SeriesCatalogTable.OtherCustomer).Count);
        wholeService.RequestsOverEndpointLimit.ShouldBe(0);

        foreach (var customer in new[] { CustomerEvents.TenantA, CustomerEvents.TenantB, SeriesCatalogTable.OtherCustomer })
        {
            var report = await ExactReport.GetAsync(app, CustomerEvents.Service, From, To, customer: customer);
            var exact = InPeriod(all, r => r.Customer == customer);
            exact.Count.ShouldBeGreaterThan(20);
            ExactReport.ShouldMatch(report, exact, customer);
            report.Customer.ShouldBe(customer);
            report.Endpoint.ShouldBeNull();
            report.Uptime.ShouldBe(wholeService.Uptime, "downtime is the service's");
            report.DowntimeEvents.Select(e => (e.Start, e.End)).ShouldBe(wholeService.DowntimeEvents.Select(e => (e.Start, e.End)));
            report.RequestsOverEndpointLimit.ShouldBe(0);
            report.RequestsOverCustomerLimit.ShouldBe(0);
        }
        var tenantA = await ExactReport.GetAsync(app, CustomerEvents.Service, From, To, customer: CustomerEvents.TenantA);
        tenantA.Latency.P50Ms.ShouldNotBe(wholeService.Latency.P50Ms, "tenant-a's requests are slower than the service's");

        // Endpoints are what they were, and no customer is listed as one.
        ExactReport.ShouldMatch(await ExactReport.GetAsync(app, CustomerEvents.Service, From, To, endpoint: "GET /a"), InPeriod(all, r => r.Endpoint == "GET /a"), "GET /a");
        await using (var session = store.Store.QuerySession())
        {
            (await KnownSubjects.EndpointsAsync(session, CustomerEvents.Service, CancellationToken.None)).ShouldBe(["GET /a", "POST /b"]);
            (await KnownSubjects.CustomersAsync(session, CustomerEvents.Service, CancellationToken.None))
                .ShouldBe([SeriesCatalogTable.OtherCustomer, CustomerEvents.TenantA, CustomerEvents.TenantB]);
        }
        var summary = await app.Client.GetStringAsync($"/api/exports/summary?service={CustomerEvents.Service}&endpoints=true&from={Iso(From)}&to={Iso(To)}");
        var rows = summary.ReplaceLineEndings("\n").TrimEnd().Split('\n');
        rows.Skip(1).Select(r => r.Split(',')[1]).ShouldBe(["", "GET /a", "POST /b"]);

        // As of now (folded from the events) the customer's report says what the rollups say.
        var asOf = (await GetJsonAsync(app, $"/api/reports/{CustomerEvents.Service}?customer={CustomerEvents.TenantA}&from={Iso(From)}&to={Iso(To)}&asOf={Iso(DateTimeOffset.UtcNow.AddSeconds(1))}"))
            .Deserialize<SlaReport>(Json)!;
        asOf.AsOf.ShouldNotBeNull();
        asOf.Requests.ShouldBe(tenantA.Requests);
        asOf.Latency.ShouldBe(tenantA.Latency);
        asOf.Customer.ShouldBe(CustomerEvents.TenantA);
        var serviceAsOf = (await GetJsonAsync(app, $"/api/reports/{CustomerEvents.Service}?from={Iso(From)}&to={Iso(To)}&asOf={Iso(DateTimeOffset.UtcNow.AddSeconds(1))}"))
            .Deserialize<SlaReport>(Json)!;
        serviceAsOf.RequestsOverCustomerLimit.ShouldBe(wholeService.RequestsOverCustomerLimit, "replayed events say the same as the rollups");
        (await app.Client.GetStringAsync($"/api/reports/{CustomerEvents.Service}?from={Iso(From)}&to={Iso(To)}")).ShouldNotContain("\"customer\"");

        // A customer nobody sent is 404 naming the nearest, as for endpoints; names ingest refuses, or a customer with an endpoint, are 400.
        var unknown = await app.Client.GetAsync($"/api/reports/{CustomerEvents.Service}?customer=tenant-c&from={Iso(From)}&to={Iso(To)}");
        var problem = await unknown.Content.ReadAsStringAsync();
        unknown.StatusCode.ShouldBe(HttpStatusCode.NotFound, problem);
        var notFound = JsonDocument.Parse(problem).RootElement;
        notFound.GetProperty("title").GetString().ShouldBe("Unknown customer of service 'shop' 'tenant-c'");
        notFound.GetProperty("nearest").EnumerateArray().Select(e => e.GetString()).ShouldContain(CustomerEvents.TenantA);
        (await app.Client.GetAsync($"/api/reports/{CustomerEvents.Service}?customer=a%7Cb")).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var both = await app.Client.GetAsync($"/api/reports/{CustomerEvents.Service}?customer={CustomerEvents.TenantA}&endpoint=GET%20/a");
        both.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await both.Content.ReadAsStringAsync()).ShouldContain("not both");
    }

    [Fact]
    public async Task rebuilding_the_rollups_from_the_events_gives_the_documents_and_the_customer_reports_folded_live()
    {
        var flushes = Flushes();
        await using var live = await IngestHarness.CreateAsync(services, partitions: 1);
        await using (var app = await RunningApp.StartAsync(live.ConnectionString))
        {
            foreach (var flush in flushes)
            {
                await CustomerEvents.AppendAsync(live.Store, CustomerEvents.Events(flush));
                await CustomerEvents.WaitForProjectionsAsync(live.Store);
            }
        }

        // The same events in a new database, folded only by a rebuild (as a restore does), in pages of its own size.
        await using var rebuilt = await IngestHarness.CreateAsync(services, partitions: 1);
        await CustomerEvents.AppendAsync(rebuilt.Store, flushes.SelectMany(f => CustomerEvents.Events(f)).ToArray());
        await ProjectionRebuild.RunAsync(rebuilt.Store, TimeSpan.FromMinutes(2), _ => { }, CancellationToken.None);

        var liveDocuments = await DocumentsAsync(live.Store);
        liveDocuments.Count(d => d.Contains(RollupSeries.CustomerPrefix, StringComparison.Ordinal)).ShouldBeGreaterThan(20);
        (await DocumentsAsync(rebuilt.Store)).ShouldBe(liveDocuments);
        foreach (var customer in new[] { CustomerEvents.TenantA, SeriesCatalogTable.OtherCustomer })
        {
            var before = await ReportAsync(live.Store, customer);
            var after = await ReportAsync(rebuilt.Store, customer);
            after.Requests.ShouldBe(before.Requests);
            after.Latency.ShouldBe(before.Latency);
            after.Requests.Total.ShouldBe(flushes.SelectMany(f => f).Count(r => r.At >= From && r.At < To && r.Customer == customer));
        }
    }

    /// <summary>Every rollup document as text: ids, counts, histogram bytes and how many events carried each minute.</summary>
    private static async Task<List<string>> DocumentsAsync(DocumentStore store)
    {
        await using var session = store.QuerySession();
        var documents = (await session.Query<LatencyRollup>().ToListAsync())
            .Select(r => $"{r.Id} {r.Requests} {r.Errors} {Convert.ToHexString(r.Latency)}")
            .ToList();
        foreach (var hour in await session.Query<MinuteRollups>().ToListAsync())
        {
            for (var minute = 0; minute < MinuteRollups.MinutesPerHour; minute++)
            {
                if (hour.Minutes[minute] is { } figures)
                {
                    documents.Add($"{hour.Id}:{minute} {figures.Requests} {figures.Errors} {Convert.ToHexString(figures.Latency)} {figures.Events?.Count}");
                }
            }
        }
        return documents.Order(StringComparer.Ordinal).ToList();
    }

    private static async Task<SlaReport> ReportAsync(DocumentStore store, string customer)
    {
        await using var session = store.QuerySession();
        return await SlaReportBuilder.BuildAsync(session, new SlaOptions(), CustomerEvents.Service, From, To, "UTC", null, CancellationToken.None, customer: customer);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<JsonElement> GetJsonAsync(RunningApp app, string url)
    {
        var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static string Iso(DateTimeOffset instant) =>
        Uri.EscapeDataString(instant.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
}
