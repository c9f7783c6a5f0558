using System.Text;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>The optional customer of a request: decoded as names are, and aggregated per (service, customer, minute).</summary>
/// <remarks>
/// In the shared collection although it needs no service: its refusals add to the process-wide refusal counter, whose
/// exact increase <see cref="CustomerIngestTests"/> checks.
/// </remarks>
[Trait("Category", "Unit")]
[Collection(SharedServices.Name)]
public sealed class CustomerMessageTests
{
    private static readonly DateTimeOffset Minute = new(2026, 11, 3, 10, 15, 0, TimeSpan.Zero);
    private readonly TelemetryDecoder _decoder = new(new ContractLimits(), new FakeTimeProvider(Minute.AddMinutes(5)));

    [Theory]
    [InlineData("", null)]
    [InlineData("\"customer\":null,", null)]
    [InlineData("\"customer\":\"acme\",", "acme")]
    [InlineData("\"customer\":\"Zürich AG \\u0026 Co\",", "Zürich AG & Co")]
    public void a_request_names_its_customer_or_none(string customerJson, string? customer)
    {
        var decoded = Decode(customerJson);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.ShouldBe(new RequestMetric("svc", "GET /x", 5_000, 200, IsError: false, Minute.AddSeconds(1), customer));
    }

    [Theory]
    [InlineData("\"customer\":\"\",", "field 'customer' must not be empty")]
    [InlineData("\"customer\":\"a|b\",", "field 'customer' must not contain '|', which separates the parts of read-model keys")]
    [InlineData("\"customer\":\"a\\nb\",", "field 'customer' must not contain control characters")]
    [InlineData("\"customer\":7,", "field 'customer' must be a string")]
    [InlineData("\"customer\":[\"a\"],", "field 'customer' must be a string")]
    [InlineData("\"customer\":\"a\",\"customer\":\"a\",", "duplicate field 'customer'")]
    public void a_bad_customer_is_refused_with_the_reason(string customerJson, string reason) =>
        Decode(customerJson).Error.ShouldBe(reason);

    [Fact]
    public void a_customer_longer_than_the_name_limit_is_refused_and_one_at_it_is_taken()
    {
        var limits = new ContractLimits { MaxNameLength = 12 };
        var decoder = new TelemetryDecoder(limits, new FakeTimeProvider(Minute.AddMinutes(5)));

        Decode(decoder, $"\"customer\":\"{new string('c', 12)}\",").Request.Customer.ShouldBe(new string('c', 12));
        Decode(decoder, $"\"customer\":\"{new string('c', 13)}\",").Error.ShouldBe("field 'customer' must be at most 12 characters (Contract:MaxNameLength)");
    }

    [Fact]
    public void the_writer_writes_what_the_decoder_reads()
    {
        var written = TelemetryWriter.Request("svc", "GET /x", 5, 200, Minute.AddSeconds(1), customer: "a \"quoted\" customer");

        _decoder.Decode(written).Request.Customer.ShouldBe("a \"quoted\" customer");
        Encoding.UTF8.GetString(TelemetryWriter.Request("svc", "GET /x", 5, 200, Minute)).ShouldNotContain("customer");
    }

    [Fact]
    public void requests_with_a_customer_are_aggregated_per_customer_minute_across_endpoints_moved_and_merged_without_counting_twice()
    {
        var first = new IngestBatch();
        var held = new IngestBatch();
        var other = new IngestBatch();
        var expected = new CustomerTraffic();
        for (var i = 0; i < 3_000; i++)
        {
            var customer = (i % 4) switch { 0 => "A", 1 => "B", 2 => "A", _ => null };
            var at = Minute.AddSeconds((i % 3) * 40);   // this minute and the next
            var micros = 100 + (i * 37L % 400_000);
            var isError = i % 7 == 0;
            (i < 2_000 ? first : other).Add(DecodedMessage.FromRequest(
                new RequestMetric("svc", i % 2 == 0 ? "GET /a" : "GET /b", micros, isError ? 500 : 200, isError, at, customer)));
            if (customer is not null)
            {
                expected.Expect("svc", customer, CustomerTraffic.MinuteOf(at), [micros], isError ? 1 : 0);
            }
        }

        // The later minute is held open and moved on; the rest comes in another batch (HTTP group commit).
        first.MoveMinutesTo(held, IngestBatch.MinuteOf(Minute.AddMinutes(1)));
        first.Customers().ShouldBe([("svc", "A"), ("svc", "B")], ignoreOrder: true);
        held.MergeFrom(other);
        held.MergeFrom(first);

        held.RequestCount.ShouldBe(3_000);
        held.Customers().ShouldBe([("svc", "A"), ("svc", "B")], ignoreOrder: true);
        var events = held.ToEventsByService()["svc"];
        events.OfType<RequestsRecorded>().Sum(e => e.Minutes.Sum(m => m.Requests)).ShouldBe(3_000);
        var minutes = events.OfType<CustomerRequestsRecorded>()
            .SelectMany(e => e.Minutes.Select(m => (Key: (e.Service, e.Customer, m.Minute), m)))
            .ToDictionary(x => x.Key, x => x.m);
        minutes.Keys.ShouldBe(expected.ByCustomerMinute.Keys, ignoreOrder: true);
        foreach (var (key, (micros, errors)) in expected.ByCustomerMinute)
        {
            (minutes[key].Requests, minutes[key].Errors).ShouldBe((micros.Count, errors), key.ToString());
            var exact = new LatencyHistogram();
            micros.ForEach(exact.Record);
            var stored = LatencyHistogram.Decode(minutes[key].Latency);
            foreach (var percentile in new[] { 0.0, 50, 99, 100 })
            {
                stored.GetValueAtPercentile(percentile).ShouldBe(exact.GetValueAtPercentile(percentile), $"{key} p{percentile}");
            }
        }
    }

    [Fact]
    public void past_the_limit_a_batch_counts_new_customers_under_other_and_the_endpoint_limit_is_apart()
    {
        var catalog = new SeriesCatalog(endpointLimit: 1, customerLimit: 2);
        var batch = new IngestBatch(catalog);
        foreach (var customer in new[] { "c1", "c2", "c3", "c1", "c4" })
        {
            batch.Add(DecodedMessage.FromRequest(new RequestMetric("svc", "GET /a", 1_000, 200, false, Minute, customer)));
        }

        var customers = batch.ToEventsByService()["svc"].OfType<CustomerRequestsRecorded>().ToDictionary(e => e.Customer, e => e.Minutes.Sum(m => m.Requests));
        customers.ShouldBe(new Dictionary<string, long> { ["c1"] = 2, ["c2"] = 1, [SeriesCatalogTable.OtherCustomer] = 2 });
        catalog.Customers.ServicesAtLimit().ShouldHaveSingleItem().ShouldSatisfyAllConditions(
            s => s.Service.ShouldBe("svc"),
            s => s.Names.ShouldBe(2),
            s => s.Refusals.ShouldBe(2),
            s => s.RefusedSample.ShouldBe(["c3", "c4"], ignoreOrder: true));
        // One endpoint is at its limit of one, and no endpoint was refused.
        catalog.Endpoints.ServicesAtLimit().ShouldHaveSingleItem().Refusals.ShouldBe(0);
    }

    private DecodedMessage Decode(string customerJson) => Decode(_decoder, customerJson);

    private static DecodedMessage Decode(TelemetryDecoder decoder, string customerJson) => decoder.Decode(Encoding.UTF8.GetBytes(
        $"{{\"v\":1,\"type\":\"request\",\"service\":\"svc\",\"endpoint\":\"GET /x\",\"latencyMs\":5,\"status\":200,{customerJson}\"ts\":\"2026-11-03T10:15:01Z\"}}"));
}
