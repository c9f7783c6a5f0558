using MaestroSla.EventStore;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Quickenshtein;

namespace MaestroSla.Sla.Reports;

/// <summary>
/// What a report can be asked about: services that recorded telemetry, whose targets were set through the API or that
/// are configured in Sla:Services; and per service the endpoints and the customers that recorded requests. Anything else is a typo, and
/// answering it with an empty report would say that an SLA was kept.
/// </summary>
public static class KnownSubjects
{
    public static async Task<List<string>> ServicesAsync(IQuerySession session, SlaOptions options, CancellationToken ct)
    {
        var names = new SortedSet<string>(await KnownServices.ListAsync(session, ct), StringComparer.Ordinal);
        var prefix = SlaTargetStreams.For("");
        foreach (var id in await EventStoreQueries.StreamKeysStartingWithAsync(session, prefix, ct))
        {
            names.Add(id[prefix.Length..]);
        }
        names.UnionWith(options.Services.Keys);
        return [.. names];
    }

    /// <summary>
    /// The endpoints of a service, from its day rollups (one per endpoint and day with traffic; "*" is the service's
    /// own rollup): a few hundred rows a year per endpoint, read only when a report found nothing.
    /// </summary>
    public static async Task<List<string>> EndpointsAsync(IQuerySession session, string service, CancellationToken ct) =>
        await EndpointsAsync(session, service, Earliest, Latest, ct);

    /// <summary>The endpoints with requests on the UTC days that [from, to) touches (customers' rollups are no endpoints).</summary>
    public static async Task<List<string>> EndpointsAsync(IQuerySession session, string service, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var firstDay = LatencyRollup.StartOf(RollupGrain.Day, from);
        var endpoints = await session.Query<LatencyRollup>()
            .Where(r => r.Service == service && r.Grain == RollupGrain.Day && r.Endpoint != LatencyRollup.AllEndpoints
                && !r.Endpoint.StartsWith(RollupSeries.CustomerPrefix, StringComparison.Ordinal)
                && r.Start >= firstDay && r.Start < to)
            .Select(r => r.Endpoint)
            .Distinct()
            .ToListAsync(ct);
        return endpoints.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The customers of a service that recorded requests, "(other)" included: from the customer catalogue, which ingest
    /// writes with each customer's first events (the dashboard asks at every service page, and a service with 1,000
    /// customers has ~25,000 rollup rows a day). Only while the catalogues are not filled yet, from the day rollups.
    /// </summary>
    public static async Task<List<string>> CustomersAsync(IQuerySession session, string service, CancellationToken ct)
    {
        if (await EventStoreQueries.CataloguedCustomersAsync(session, service, ct) is { } catalogued)
        {
            return catalogued.Order(StringComparer.Ordinal).ToList();
        }
        var series = await session.Query<LatencyRollup>()
            .Where(r => r.Service == service && r.Grain == RollupGrain.Day && r.Endpoint.StartsWith(RollupSeries.CustomerPrefix, StringComparison.Ordinal))
            .Select(r => r.Endpoint)
            .Distinct()
            .ToListAsync(ct);
        return series.Select(RollupSeries.CustomerOf).Order(StringComparer.Ordinal).ToList();
    }

    private static readonly DateTimeOffset Earliest = ReportPeriod.Earliest.AddDays(-2);
    private static readonly DateTimeOffset Latest = ReportPeriod.Latest.AddDays(2);

    /// <summary>
    /// Up to <paramref name="count"/> known names closest to what was asked for (edit distance, ignoring case), so that
    /// a 404 can say "did you mean". Names that share a prefix with the request come first at equal distance.
    /// </summary>
    public static List<string> Nearest(string asked, IEnumerable<string> known, int count = 3)
    {
        var lowered = asked.ToLowerInvariant();
        return known
            .Select(name => (Name: name, Distance: Levenshtein.GetDistance(lowered, name.ToLowerInvariant()),
                Prefix: name.StartsWith(asked[..Math.Min(asked.Length, 3)], StringComparison.OrdinalIgnoreCase)))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Prefix ? 0 : 1)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(count)
            .Select(c => c.Name)
            .ToList();
    }
}
