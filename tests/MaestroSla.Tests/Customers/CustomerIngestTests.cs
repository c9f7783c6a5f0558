using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MaestroSla.Contracts.Events;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Operations;
using Marten;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// Requests that name a customer are stored once more per (service, customer, minute), in the transaction and stream
/// of their endpoint events, whichever way they come in; customers past a service's limit become "(other)".
/// </summary>
[Collection(SharedServices.Name)]
public sealed class CustomerIngestTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task requests_of_customers_a_and_b_over_kafka_and_http_are_stored_per_service_customer_and_minute_beside_unchanged_endpoint_totals()
    {
        var traffic = CustomerTraffic.Requests(6_000, DateTimeOffset.UtcNow);
        traffic.ByCustomerMinute.Keys.Select(k => k.Customer).Distinct().Order(StringComparer.Ordinal).ShouldBe(["A", "B"]);

        await using var kafka = await IngestHarness.CreateAsync(services, partitions: 4);
        kafka.Produce(traffic.Messages);
        await kafka.StartConsumerAsync();
        (await kafka.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);
        await CustomerTraffic.ShouldBeStoredAsync(kafka.Store, traffic.ByCustomerMinute, traffic.ByService);

        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using (var app = await RunningApp.StartAsync(http.ConnectionString))
        {
            foreach (var chunk in traffic.Messages.Chunk(2_500))
            {
                var response = await app.Client.PostAsync("/api/ingest", JsonArray(chunk));
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }
        }
        await CustomerTraffic.ShouldBeStoredAsync(http.Store, traffic.ByCustomerMinute, traffic.ByService);
        (await CatalogueAsync(http, SeriesCatalogTable.CustomerTableName, "customer")).ShouldBe(
            traffic.ByCustomerMinute.Keys.Select(k => $"{k.Service} {k.Customer}").Distinct().Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task bad_customers_are_refused_with_their_reason_and_nothing_else_is_lost()
    {
        var now = DateTimeOffset.UtcNow;
        var ts = now.AddMinutes(-3).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        string Request(string customerJson) =>
            $"{{\"v\":1,\"type\":\"request\",\"service\":\"bad\",\"endpoint\":\"GET /x\",\"latencyMs\":5,\"status\":200,{customerJson}\"ts\":\"{ts}\"}}";
        var invalid = new (string Payload, string Reason)[]
        {
            (Request("\"customer\":\"\","), "field 'customer' must not be empty"),
            (Request($"\"customer\":\"{new string('c', 201)}\","), "field 'customer' must be at most 200 characters (Contract:MaxNameLength)"),
            (Request("\"customer\":\"a|b\","), "field 'customer' must not contain '|', which separates the parts of read-model keys"),
            (Request("\"customer\":\"tab\\there\","), "field 'customer' must not contain control characters"),
            (Request("\"customer\":42,"), "field 'customer' must be a string"),
            (Request("\"customer\":\"A\",\"customer\":\"B\","), "duplicate field 'customer'"),
        };
        // Valid around them: customers, none, and a customer given as null (no customer).
        var valid = CustomerTraffic.Requests(60, now);
        valid.Add("bad", "GET /x", 5_000, 200, now.AddMinutes(-3), customer: null);
        var withNull = Encoding.UTF8.GetBytes(Request("\"customer\":null,"));
        var messages = new List<byte[]>();
        for (var i = 0; i < valid.Messages.Count; i++)
        {
            messages.Add(i == valid.Messages.Count - 1 ? withNull : valid.Messages[i]);
            if (i < invalid.Length)
            {
                messages.Add(Encoding.UTF8.GetBytes(invalid[i].Payload));
            }
        }

        await using var kafka = await IngestHarness.CreateAsync(services, partitions: 1);
        kafka.Produce(messages);
        await kafka.StartConsumerAsync();
        (await kafka.WaitForStoredRequestsAsync(valid.TotalRequests, Patience)).ShouldBe(valid.TotalRequests);
        await using (var session = kafka.Store.QuerySession())
        {
            await Eventually.HoldsAsync(async () => await session.Query<DeadLetter>().CountAsync() == invalid.Length, "every bad message is dead-lettered", Patience);
            var deadLetters = (await session.Query<DeadLetter>().ToListAsync()).OrderBy(d => d.Offset).ToList();
            deadLetters.Select(d => (Encoding.UTF8.GetString(d.Payload), d.Reason)).ShouldBe(invalid.Select(x => (x.Payload, x.Reason)));
        }
        await CustomerTraffic.ShouldBeStoredAsync(kafka.Store, valid.ByCustomerMinute, valid.ByService);

        // Over HTTP the batch is refused whole, naming the message and its reason, and nothing is stored.
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        foreach (var (payload, reason) in invalid)
        {
            var response = await app.Client.PostAsync("/api/ingest", JsonArray([valid.Messages[0], Encoding.UTF8.GetBytes(payload)]));
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            using var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var errors = problem.RootElement.GetProperty("errors");
            errors.EnumerateObject().Select(e => e.Name).ShouldBe(["[1]"]);
            errors.GetProperty("[1]")[0].GetString().ShouldBe(reason);
        }
        await using (var session = http.Store.QuerySession())
        {
            (await session.Events.QueryAllRawEvents().CountAsync()).ShouldBe(0);
        }
    }

    [Fact]
    public async Task past_a_services_customer_limit_new_customers_are_counted_under_other_durably_counted_as_refusals_and_named_on_health()
    {
        const int Limit = 3;
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(harness.ConnectionString, new Dictionary<string, string?>
        {
            ["Ingest:Write:CustomerLimitPerService"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var before = PrometheusText.Sum(await app.Client.GetStringAsync("/metrics"), "maestrosla_ingest_customer_limit_refusals_total");

        // "tenants" has 8 customers, in order c0, c1, …; "small" has 2 (within the limit). One HTTP batch, so the first
        // three of tenants are the ones admitted.
        var sent = CustomerTraffic.Requests(
            800, DateTimeOffset.UtcNow, services: ["tenants", "tenants", "small"],
            customerOf: i => i % 3 == 2 ? $"s{i % 2}" : $"c{i / 3 % 8}");
        var admitted = new[] { "c0", "c1", "c2" };
        var expected = new CustomerTraffic();
        var refusedRequests = 0L;
        foreach (var ((service, customer, minute), (micros, errors)) in sent.ByCustomerMinute)
        {
            var counted = service == "tenants" && !admitted.Contains(customer) ? SeriesCatalogTable.OtherCustomer : customer;
            refusedRequests += counted == customer ? 0 : micros.Count;
            expected.Expect(service, counted, minute, micros, errors);
        }
        var response = await app.Client.PostAsync("/api/ingest", JsonArray(sent.Messages));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

        await CustomerTraffic.ShouldBeStoredAsync(harness.Store, expected.ByCustomerMinute, sent.ByService);
        (await CatalogueAsync(harness, SeriesCatalogTable.CustomerTableName, "customer")).ShouldBe(
            ["small s0", "small s1", "tenants (other)", "tenants c0", "tenants c1", "tenants c2"]);
        // Every request of a refused customer is one refusal (it has no minute of its own to be found in).
        await Eventually.HoldsAsync(
            async () => PrometheusText.Sum(await app.Client.GetStringAsync("/metrics"), "maestrosla_ingest_customer_limit_refusals_total") - before >= refusedRequests,
            "the refusals are counted", Patience);
        (PrometheusText.Sum(await app.Client.GetStringAsync("/metrics"), "maestrosla_ingest_customer_limit_refusals_total") - before).ShouldBe(refusedRequests);

        var health = await HealthReply.GetAsync(app.Client, "/health");
        var cardinality = health.Components["cardinality"];
        cardinality.Status.ShouldBe("Degraded", health.Body);
        cardinality.Description!.ShouldStartWith("1 service(s) at the customer limit: tenants: 3 customers, new ones counted under (other) (e.g. ");
        var sample = cardinality.Description[(cardinality.Description.IndexOf("(e.g. ", StringComparison.Ordinal) + 6)..^1].Split(", ");
        sample.Length.ShouldBe(3);
        sample.ShouldBeSubsetOf(["c3", "c4", "c5", "c6", "c7"]);

        // The decision is durable: a consumer that loads the catalogues — filled again from the events after they were
        // emptied, as a restore leaves them — counts a new customer of tenants under (other) and an admitted one as itself.
        await using (var connection = new NpgsqlConnection(harness.ConnectionString))
        {
            await connection.OpenAsync();
            var schema = harness.Store.Options.DatabaseSchemaName;
            await using var truncate = new NpgsqlCommand($"delete from {schema}.{SeriesCatalogTable.CustomerTableName}; delete from {schema}.{SeriesCatalogTable.Name}", connection);
            await truncate.ExecuteNonQueryAsync();
        }
        var late = new CustomerTraffic();
        var at = DateTimeOffset.UtcNow.AddMinutes(-2);
        late.Add("tenants", "GET /a", 1_000, 200, at, "c9");
        late.Add("tenants", "GET /a", 2_000, 503, at, "c1");
        harness.Produce(late.Messages);
        await harness.StartConsumerAsync(new SeriesCatalog(customerLimit: Limit));
        (await harness.WaitForStoredRequestsAsync(sent.TotalRequests + late.TotalRequests, Patience)).ShouldBe(sent.TotalRequests + late.TotalRequests);
        foreach (var ((service, customer, minute), (micros, errors)) in late.ByCustomerMinute)
        {
            expected.Expect(service, customer == "c9" ? SeriesCatalogTable.OtherCustomer : customer, minute, micros, errors);
        }
        var byService = new Dictionary<string, (long Requests, long Errors)>(sent.ByService);
        byService["tenants"] = (byService["tenants"].Requests + 2, byService["tenants"].Errors + 1);
        await CustomerTraffic.ShouldBeStoredAsync(harness.Store, expected.ByCustomerMinute, byService);
        (await CatalogueAsync(harness, SeriesCatalogTable.CustomerTableName, "customer")).ShouldBe(
            ["small s0", "small s1", "tenants (other)", "tenants c0", "tenants c1", "tenants c2"]);
    }

    private static async Task<List<string>> CatalogueAsync(IngestHarness harness, string table, string column)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        return await CatalogueRows.ReadAsync(connection, harness.Store.Options.DatabaseSchemaName, table, column);
    }

    private static ByteArrayContent JsonArray(IEnumerable<byte[]> messages)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("[" + string.Join(",", messages.Select(m => Encoding.UTF8.GetString(m))) + "]"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
