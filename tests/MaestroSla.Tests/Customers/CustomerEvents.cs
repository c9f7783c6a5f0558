using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Projections.Latency;
using Marten;
using Marten.Events;

namespace MaestroSla.Tests.Customers;

/// <summary>One request of a multi-tenant service: when, which endpoint, which customer, how long, whether it failed.</summary>
public sealed record CustomerRequest(DateTimeOffset At, string Endpoint, string Customer, long Micros, bool Error)
{
    public (long Micros, bool Error) Exact => (Micros, Error);
}

/// <summary>
/// Requests stored as ingest stores them: one flush's requests as one <see cref="RequestsRecorded"/> per endpoint and,
/// beside them in the same transaction, one <see cref="CustomerRequestsRecorded"/> per customer, appended to the
/// service's ingest stream. Appended directly with Marten, so the read side is tested on exactly known events.
/// </summary>
public static class CustomerEvents
{
    public const string Service = "shop";
    public const string TenantA = "tenant-a";
    public const string TenantB = "tenant-b";

    /// <summary>The events of one flush of <paramref name="requests"/>: per endpoint, then per customer.</summary>
    public static object[] Events(IReadOnlyCollection<CustomerRequest> requests, string service = Service)
    {
        var events = new List<object>();
        foreach (var endpoint in requests.GroupBy(r => r.Endpoint).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            events.Add(new RequestsRecorded(service, endpoint.Key, Minutes(endpoint)));
        }
        foreach (var customer in requests.GroupBy(r => r.Customer).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            events.Add(new CustomerRequestsRecorded(service, customer.Key, Minutes(customer)));
        }
        return [.. events];
    }

    /// <summary>Appends events to the service's HTTP slot 0 stream in one transaction, as one ingest flush does.</summary>
    public static async Task AppendAsync(IDocumentStore store, params object[] events)
    {
        await using var session = store.LightweightSession();
        session.Events.Append(IngestStreams.For(Service, IngestStreams.HttpSlot(0)), events);
        await session.SaveChangesAsync();
    }

    public static Task WaitForProjectionsAsync(IDocumentStore store) => store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(120));

    private static List<MinuteOfRequests> Minutes(IEnumerable<CustomerRequest> requests)
    {
        var minutes = new List<MinuteOfRequests>();
        foreach (var minute in requests.GroupBy(r => LatencyRollup.StartOf(RollupGrain.Minute, r.At)).OrderBy(g => g.Key))
        {
            var histogram = new LatencyHistogram();
            foreach (var request in minute)
            {
                histogram.Record(request.Micros);
            }
            minutes.Add(new MinuteOfRequests(minute.Key, minute.LongCount(), minute.LongCount(r => r.Error), histogram.Encode()));
        }
        return minutes;
    }
}
