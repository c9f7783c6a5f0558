using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Operations;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// The whole path of a customer's requests: messages naming customers through Kafka, ingest's customer events, the
/// rollup shards' customer series, and the report over the API with <c>?customer=</c>.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class CustomerEndToEndTests(ServicesFixture services)
{
    [Fact]
    public async Task a_customers_report_over_the_api_counts_exactly_the_requests_its_messages_named()
    {
        var now = DateTimeOffset.UtcNow;
        var traffic = CustomerTraffic.Requests(3_000, now);

        await using var kafka = await IngestHarness.CreateAsync(services, partitions: 4);
        kafka.Produce(traffic.Messages);
        await kafka.StartConsumerAsync();
        (await kafka.WaitForStoredRequestsAsync(traffic.TotalRequests, TimeSpan.FromSeconds(90))).ShouldBe(traffic.TotalRequests);

        await using var app = await RunningApp.StartAsync(kafka.ConnectionString);
        var (from, to) = (now.AddMinutes(-30), now);
        foreach (var customer in new[] { "A", "B" })
        {
            var exact = traffic.ByCustomerMinute
                .Where(m => m.Key.Service == "shop" && m.Key.Customer == customer)
                // A minute's errors are counted, not placed: mark that many of its requests as errors.
                .SelectMany(m => m.Value.Micros.Select((micros, i) => (micros, i < m.Value.Errors)))
                .ToList();
            exact.Count.ShouldBeGreaterThan(100);
            ExactReport.ShouldMatch(await ExactReport.GetAsync(app, "shop", from, to, customer: customer), exact, $"shop, customer {customer}");
        }

        // The service's own report still counts every request once, with or without a customer.
        var service = await ExactReport.GetAsync(app, "shop", from, to);
        (service.Requests.Total, service.Requests.Errors).ShouldBe(traffic.ByService["shop"]);
    }
}
