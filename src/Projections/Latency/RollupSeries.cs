using MaestroSla.Contracts.Events;

namespace MaestroSla.Projections.Latency;

/// <summary>
/// What a rollup is about within its service: an endpoint, the whole service (<see cref="LatencyRollup.AllEndpoints"/>),
/// or one customer of a multi-tenant service (<see cref="CustomerRequestsRecorded"/>, #17 item 4). The rollup documents'
/// <c>Endpoint</c> holds this key.
/// </summary>
/// <remarks>
/// A customer's rollups are the endpoints' documents (<see cref="LatencyRollup"/>, <see cref="MinuteRollups"/>), folded by
/// the same <see cref="LatencyRollupProjection"/> shards under the key <c>customer|{name}</c>, rather than documents and a
/// projection of their own: a customer is one more series of its service with exactly an endpoint's needs (minute, hour
/// and day grains, bottom-up folding per page, one writer per service, minutes kept as event sequences so that thousands
/// of series stay cheap), and every reader that takes a series (<see cref="LatencyRollups.Load"/>, the report, the
/// statements) then takes a customer unchanged. One projection also reads each request event once, where a second would
/// read and skip every <see cref="RequestsRecorded"/> again. Ingest refuses '|' in names, so no endpoint is ever called
/// <c>customer|…</c> and the keys cannot collide; listings of endpoints leave these keys out
/// (<see cref="IsCustomer"/>), and the service's own rollups are folded from its endpoints alone, so a customer's
/// requests are never counted twice.
/// </remarks>
public static class RollupSeries
{
    public const string CustomerPrefix = "customer|";

    public static string Customer(string customer) => CustomerPrefix + customer;

    public static bool IsCustomer(string series) => series.StartsWith(CustomerPrefix, StringComparison.Ordinal);

    public static string CustomerOf(string series) => series[CustomerPrefix.Length..];

    /// <summary>The series a report asks for: one customer's, one endpoint's, or the whole service's.</summary>
    public static string Key(string? endpoint, string? customer) =>
        customer is not null ? Customer(customer) : endpoint ?? LatencyRollup.AllEndpoints;

    /// <summary>The service, series and minutes of an event that carries requests; null for any other event.</summary>
    public static (string Service, string Series, IReadOnlyList<MinuteOfRequests> Minutes)? Recorded(object data) => data switch
    {
        RequestsRecorded recorded => (recorded.Service, recorded.Endpoint, recorded.Minutes),
        CustomerRequestsRecorded recorded => (recorded.Service, Customer(recorded.Customer), recorded.Minutes),
        _ => null,
    };

    /// <summary>
    /// Whether requests recorded under <paramref name="recorded"/> count in the series <paramref name="asked"/>: the
    /// whole service counts every endpoint's (never a customer's: those requests are an endpoint's too), any other
    /// series only its own.
    /// </summary>
    public static bool Counts(string asked, string recorded) =>
        asked == LatencyRollup.AllEndpoints ? !IsCustomer(recorded) : asked == recorded;
}
