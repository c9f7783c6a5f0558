using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Security;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// GET /api/services/{service}/customers, what the dashboard's customer picker lists: exactly the customers whose
/// requests were stored ("(other)" once the limit was passed), every one of them a report; an empty list for a service
/// without customers, 404 naming the nearest for a service nobody knows, and the read role as for every report.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class ServiceCustomersTests(ServicesFixture services)
{
    [Fact]
    public async Task a_service_lists_exactly_the_customers_it_recorded_and_each_has_a_report()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString, new Dictionary<string, string?>
        {
            ["Ingest:Write:CustomerLimitPerService"] = "2",
        });
        var at = DateTimeOffset.UtcNow.AddMinutes(-3);
        // Two customers of svc-a within the limit, in one post; the third, posted after, is past it. svc-b names none.
        await PostAsync(app,
            TelemetryWriter.Request("svc-a", "GET /a", 12, 200, at, customer: "acme"),
            TelemetryWriter.Request("svc-a", "GET /a", 14, 500, at, customer: "Zeta corp"),
            TelemetryWriter.Request("svc-a", "POST /b", 9, 200, at.AddSeconds(5), customer: "acme"),
            TelemetryWriter.Request("svc-a", "GET /a", 30, 200, at),
            TelemetryWriter.Request("svc-b", "GET /b", 7, 200, at));
        await PostAsync(app, TelemetryWriter.Request("svc-a", "GET /a", 20, 200, at, customer: "beta"));
        using var analyst = app.CreateClient(SecuredApp.ReadKey);

        var listed = await analyst.GetFromJsonAsync<JsonElement>("/api/services/svc-a/customers");
        listed.GetProperty("service").GetString().ShouldBe("svc-a");
        var customers = listed.GetProperty("customers").EnumerateArray().Select(c => c.GetString()!).ToList();
        // Ordinal order: "(" and upper case before lower case.
        customers.ShouldBe([SeriesCatalogTable.OtherCustomer, "Zeta corp", "acme"]);
        var requests = new Dictionary<string, long> { [SeriesCatalogTable.OtherCustomer] = 1, ["Zeta corp"] = 1, ["acme"] = 2 };
        foreach (var customer in customers)
        {
            var report = await analyst.GetFromJsonAsync<JsonElement>($"/api/reports/svc-a?customer={Uri.EscapeDataString(customer)}");
            report.GetProperty("requests").GetProperty("total").GetInt64().ShouldBe(requests[customer], customer);
        }

        var none = await analyst.GetFromJsonAsync<JsonElement>("/api/services/svc-b/customers");
        none.GetProperty("customers").GetArrayLength().ShouldBe(0);

        var unknown = await analyst.GetAsync("/api/services/svc-c/customers");
        var problem = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement;
        await unknown.ShouldBeProblemAsync(404);
        problem.GetProperty("title").GetString().ShouldBe("Unknown service 'svc-c'");
        problem.GetProperty("nearest").EnumerateArray().Select(n => n.GetString()).ShouldBe(["svc-a", "svc-b"]);

        var badName = await analyst.GetAsync("/api/services/svc%7Ca/customers");
        (await badName.Content.ReadAsStringAsync()).ShouldContain("service must not contain '|'");
        await badName.ShouldBeProblemAsync(400);
    }

    [Fact]
    public async Task the_customer_list_needs_the_read_role_and_a_key_limited_to_other_services_is_refused()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        await SecuredApp.SeedTwoServicesAsync(app);
        using var anonymous = app.CreateClient(null);
        using var collector = app.CreateClient(SecuredApp.IngestKey);
        using var checkoutTeam = app.CreateClient(SecuredApp.CheckoutOnlyKey);

        await (await anonymous.GetAsync("/api/services/svc-a/customers")).ShouldBeProblemAsync(401);
        await (await collector.GetAsync("/api/services/svc-a/customers")).ShouldBeProblemAsync(403);
        (await checkoutTeam.GetAsync("/api/services/svc-a/customers")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var refused = await checkoutTeam.GetAsync("/api/services/svc-b/customers");
        (await refused.Content.ReadAsStringAsync()).ShouldContain("may read only [svc-a]");
        await refused.ShouldBeProblemAsync(403);
    }

    private static async Task PostAsync(RunningApp app, params byte[][] messages)
    {
        using var content = new StringContent("[" + string.Join(",", messages.Select(Encoding.UTF8.GetString)) + "]", Encoding.UTF8, "application/json");
        var response = await app.Client.PostAsync("/api/ingest", content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
    }
}
