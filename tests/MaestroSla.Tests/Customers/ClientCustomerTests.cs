using MaestroSla.Client;
using MaestroSla.Contracts.Events;
using MaestroSla.Tests.Client;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>An app using MaestroSla.Client names each request's customer through CustomerOf or RecordRequest.</summary>
[Collection(SharedServices.Name)]
public sealed class ClientCustomerTests(ServicesFixture services)
{
    private const string Service = "shop-customers";

    [Fact]
    public async Task the_customer_of_each_request_reaches_maestrosla_and_requests_without_one_count_only_for_the_service()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var maestro = await RunningApp.StartAsync(harness.ConnectionString, withAdminKey: false);
        await using var shop = await ShopApp.StartAsync(o =>
        {
            o.Service = Service;
            o.Http.Endpoint = maestro.Address;
            o.FlushInterval = TimeSpan.FromMilliseconds(100);
            o.CustomerOf = context => context.Request.Headers["X-Tenant"].FirstOrDefault();
        }, healthChecks: false);

        var tenants = new[] { "acme", "globex", null, "acme", "" };
        var sent = new Dictionary<string, long>();
        for (var i = 0; i < 40; i++)
        {
            var tenant = tenants[i % tenants.Length];
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/delay/{i % 3}");
            if (tenant is not null)
            {
                request.Headers.Add("X-Tenant", tenant);
            }
            (await shop.Client.SendAsync(request)).EnsureSuccessStatusCode();
            Count(sent, tenant);
        }
        var reporter = shop.App.Services.GetRequiredService<MaestroSlaReporter>();
        foreach (var customer in new[] { "acme", "initech", null, "a|b" })
        {
            reporter.RecordRequest("consume orders", TimeSpan.FromMilliseconds(3), 200, customer).ShouldBeTrue();
            // The client makes names acceptable rather than have MaestroSla refuse the batch.
            Count(sent, customer == "a|b" ? "a¦b" : customer);
        }
        await shop.App.StopAsync();

        (await harness.WaitForStoredRequestsAsync(44, TimeSpan.FromSeconds(60))).ShouldBe(44);
        await using var session = harness.Store.QuerySession();
        var stored = (await session.Events.QueryRawEventDataOnly<CustomerRequestsRecorded>().ToListAsync())
            .GroupBy(e => e.Customer)
            .ToDictionary(g => g.Key, g => g.Sum(e => e.Minutes.Sum(m => m.Requests)));
        stored.OrderBy(s => s.Key, StringComparer.Ordinal).ShouldBe(sent.OrderBy(s => s.Key, StringComparer.Ordinal));
        (await session.Events.QueryRawEventDataOnly<CustomerRequestsRecorded>().ToListAsync()).ShouldAllBe(e => e.Service == Service);
    }

    /// <summary>Null or empty is no customer: not counted per customer.</summary>
    private static void Count(Dictionary<string, long> sent, string? customer)
    {
        if (!string.IsNullOrEmpty(customer))
        {
            sent[customer] = sent.GetValueOrDefault(customer) + 1;
        }
    }
}
