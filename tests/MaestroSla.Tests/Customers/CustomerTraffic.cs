using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using Marten;
using Marten.Events;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>
/// Requests of a few services, some naming a customer and some not, with what ingest must make of them: per
/// (service, customer, minute) the requests, errors and latencies, and per service the totals of every request.
/// </summary>
public sealed class CustomerTraffic
{
    public List<byte[]> Messages { get; } = [];

    /// <summary>Per (service, customer, UTC minute): the latencies in µs and how many were errors.</summary>
    public Dictionary<(string Service, string Customer, DateTimeOffset Minute), (List<long> Micros, long Errors)> ByCustomerMinute { get; } = [];

    public Dictionary<string, (long Requests, long Errors)> ByService { get; } = [];

    /// <summary>
    /// <paramref name="count"/> requests of three services over ended minutes (so ingest stores them at once), of
    /// customer A, customer B or none, unless <paramref name="customerOf"/> says otherwise.
    /// </summary>
    public static CustomerTraffic Requests(int count, DateTimeOffset now, Func<int, string?>? customerOf = null, string[]? services = null)
    {
        services ??= ["shop", "search", "mail"];
        // Independent of the service (i mod 3): every service has requests of A, of B and of no customer.
        customerOf ??= static i => (i % 5) switch { 0 or 3 => "A", 1 => "B", _ => null };
        var traffic = new CustomerTraffic();
        var end = now.AddSeconds(-90);
        for (var i = 0; i < count; i++)
        {
            var service = services[i % services.Length];
            // Whole microseconds up to ~2 s, spread over ~20 minutes; one in nine an error.
            var micros = 500 + ((i * 7_919L) % 2_000_000);
            var status = i % 9 == 4 ? 503 : 200;
            var ts = end.AddSeconds(-((i * 13) % 1_200));
            traffic.Add(service, i % 2 == 0 ? "GET /a" : "POST /b", micros, status, ts, customerOf(i));
        }
        return traffic;
    }

    public void Add(string service, string endpoint, long micros, int status, DateTimeOffset ts, string? customer)
    {
        Messages.Add(TelemetryWriter.Request(service, endpoint, micros / 1000.0, status, ts, customer: customer));
        var isError = status >= 500;
        var (requests, errors) = ByService.GetValueOrDefault(service);
        ByService[service] = (requests + 1, errors + (isError ? 1 : 0));
        if (customer is null)
        {
            return;
        }
        Expect(service, customer, MinuteOf(ts), [micros], isError ? 1 : 0);
    }

    /// <summary>Adds requests (their latencies and how many were errors) to what a customer's minute must hold.</summary>
    public void Expect(string service, string customer, DateTimeOffset minute, IEnumerable<long> micros, long errors)
    {
        if (!ByCustomerMinute.TryGetValue((service, customer, minute), out var sum))
        {
            sum = ([], 0);
        }
        sum.Micros.AddRange(micros);
        ByCustomerMinute[(service, customer, minute)] = (sum.Micros, sum.Errors + errors);
    }

    public long TotalRequests => ByService.Values.Sum(s => s.Requests);

    public static DateTimeOffset MinuteOf(DateTimeOffset ts) => new(IngestBatch.MinuteOf(ts) * TimeSpan.TicksPerMinute, TimeSpan.Zero);

    /// <summary>
    /// The store holds exactly the expected customer minutes (counts, errors and latency distribution, a minute's
    /// events added up) and endpoint events that still count every request; each customer event was appended in the
    /// transaction of endpoint events, to the same stream.
    /// </summary>
    public static async Task ShouldBeStoredAsync(
        IDocumentStore store,
        IReadOnlyDictionary<(string Service, string Customer, DateTimeOffset Minute), (List<long> Micros, long Errors)> byCustomerMinute,
        IReadOnlyDictionary<string, (long Requests, long Errors)> byService)
    {
        await using var session = store.QuerySession();
        var events = await session.Events.QueryAllRawEvents().ToListAsync();
        var customerEvents = events.Where(e => e.Data is CustomerRequestsRecorded).ToList();
        var requestEvents = events.Where(e => e.Data is RequestsRecorded).ToList();

        var stored = new Dictionary<(string, string, DateTimeOffset), (long Requests, long Errors, LatencyHistogram Latency)>();
        foreach (var @event in customerEvents)
        {
            var recorded = (CustomerRequestsRecorded)@event.Data;
            foreach (var minute in recorded.Minutes)
            {
                var key = (recorded.Service, recorded.Customer, minute.Minute);
                if (!stored.TryGetValue(key, out var sum))
                {
                    sum = (0, 0, new LatencyHistogram());
                }
                sum.Latency.AddEncoded(minute.Latency);
                stored[key] = (sum.Requests + minute.Requests, sum.Errors + minute.Errors, sum.Latency);
            }
            // Same stream, same transaction (events saved together share their timestamp) as endpoint events.
            requestEvents.Any(e => e.StreamKey == @event.StreamKey && e.Timestamp == @event.Timestamp && ((RequestsRecorded)e.Data).Service == recorded.Service)
                .ShouldBeTrue($"customer event of {recorded.Service}/{recorded.Customer} in {@event.StreamKey} beside its endpoint events");
            @event.StreamKey!.ShouldStartWith(IngestStreams.PrefixOf(recorded.Service));
        }

        stored.Keys.OrderBy(k => k.ToString(), StringComparer.Ordinal).ShouldBe(
            byCustomerMinute.Keys.OrderBy(k => k.ToString(), StringComparer.Ordinal).Select(k => (k.Service, k.Customer, k.Minute)));
        foreach (var (key, expected) in byCustomerMinute)
        {
            var (requests, errors, latency) = stored[(key.Service, key.Customer, key.Minute)];
            (requests, errors).ShouldBe((expected.Micros.Count, expected.Errors), key.ToString());
            var exact = new LatencyHistogram();
            foreach (var micros in expected.Micros)
            {
                exact.Record(micros);
            }
            latency.TotalCount.ShouldBe(exact.TotalCount, key.ToString());
            foreach (var percentile in new[] { 0.0, 50, 90, 99, 100 })
            {
                latency.GetValueAtPercentile(percentile).ShouldBe(exact.GetValueAtPercentile(percentile), $"{key} p{percentile}");
            }
        }

        var endpointTotals = requestEvents.Select(e => (RequestsRecorded)e.Data)
            .GroupBy(e => e.Service)
            .ToDictionary(g => g.Key, g => (g.Sum(e => e.Minutes.Sum(m => m.Requests)), g.Sum(e => e.Minutes.Sum(m => m.Errors))));
        endpointTotals.OrderBy(t => t.Key, StringComparer.Ordinal).ShouldBe(byService.OrderBy(t => t.Key, StringComparer.Ordinal));
    }
}
