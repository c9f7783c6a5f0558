using System.Diagnostics.Metrics;
using MaestroSla.Contracts.Events;
using MaestroSla.EventStore;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Ingest.Storage;

/// <summary>
/// The per-service endpoint limit (cardinality guard) and the series catalogue behind it. A client that puts ids
/// into endpoint names would otherwise create a series — events, rollups, report rows — per id: past
/// <see cref="EndpointLimit"/> endpoints a service's new endpoints are counted under
/// <see cref="SeriesCatalogTable.OtherEndpoint"/>.
/// </summary>
/// <remarks>
/// One per process, shared by the Kafka consumer and HTTP requests. The decision for an endpoint is made once, in
/// memory, and becomes durable with the first events of that endpoint (its catalogue row goes in the same
/// transaction), so a replay after a crash decides the same way for everything that was stored. Processes learn each
/// other's endpoints when they load the catalogue (at start and on every partition assignment); until then two
/// processes may each admit an endpoint past the limit, so the limit can be exceeded by a few, never by a runaway.
/// </remarks>
public sealed class SeriesCatalog
{
    public const int DefaultEndpointLimit = 2_000;

    public const string MeterName = "MaestroSla.Ingest";

    private static readonly Meter Meter = new(MeterName);
    // Counted per endpoint-minute of a batch, not per request: Admit runs when a batch first sees a series' minute.
    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>(
        "maestrosla_ingest_endpoint_limit_refusals", unit: "{series}",
        description: "Endpoint-minutes counted under (other) because their service had reached its endpoint limit");
    private const int RefusedSampleSize = 20;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServiceSeries> _services = new(StringComparer.Ordinal);

    public SeriesCatalog(int endpointLimit = DefaultEndpointLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(endpointLimit, 1);
        EndpointLimit = endpointLimit;
    }

    public int EndpointLimit { get; }

    public static Table Table(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, SeriesCatalogTable.Name, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("service").AsPrimaryKey();
        table.AddColumn<string>("endpoint").AsPrimaryKey();
        table.AddColumn("first_stored_at", "timestamptz").NotNull();
        return table;
    }

    /// <summary>The endpoint a request of <paramref name="endpoint"/> is counted under.</summary>
    public string Admit(string service, string endpoint)
    {
        lock (_lock)
        {
            var series = Of(service);
            if (series.Endpoints.Contains(endpoint))
            {
                return endpoint;
            }
            if (series.Endpoints.Count < EndpointLimit)
            {
                series.Endpoints.Add(endpoint);
                return endpoint;
            }
            series.Refusals++;
            if (series.RefusedSample.Count < RefusedSampleSize)
            {
                series.RefusedSample.Add(endpoint);
            }
            Refusals.Add(1);
            return SeriesCatalogTable.OtherEndpoint;
        }
    }

    /// <summary>Services whose endpoints reached the limit: how many they have, refusals here, a few refused names.</summary>
    public IReadOnlyList<(string Service, int Endpoints, long Refusals, IReadOnlyList<string> RefusedSample)> ServicesAtLimit()
    {
        lock (_lock)
        {
            return _services
                .Where(s => s.Value.Endpoints.Count >= EndpointLimit)
                .Select(s => (s.Key, s.Value.Endpoints.Count, s.Value.Refusals, (IReadOnlyList<string>)s.Value.RefusedSample.ToArray()))
                .OrderBy(s => s.Key, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Of <paramref name="series"/>, those not known to be in the catalogue table yet.</summary>
    public List<(string Service, string Endpoint)> Unrecorded(IEnumerable<(string Service, string Endpoint)> series)
    {
        var missing = new List<(string, string)>();
        lock (_lock)
        {
            foreach (var (service, endpoint) in series)
            {
                if (!Of(service).Recorded.Contains(endpoint))
                {
                    missing.Add((service, endpoint));
                }
            }
        }
        return missing;
    }

    /// <summary>After a commit: these rows are in the table.</summary>
    public void Recorded(IEnumerable<(string Service, string Endpoint)> series)
    {
        lock (_lock)
        {
            foreach (var (service, endpoint) in series)
            {
                var known = Of(service);
                known.Recorded.Add(endpoint);
                if (endpoint != SeriesCatalogTable.ServiceRow && endpoint != SeriesCatalogTable.OtherEndpoint)
                {
                    known.Endpoints.Add(endpoint);
                }
            }
        }
    }

    /// <summary>
    /// Adds what the table holds (other processes' endpoints among it) to what this process knows. An empty table in
    /// a store that has events (restored from a backup, or written before the catalogue existed) is filled from the
    /// events first.
    /// </summary>
    public async Task LoadAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await EventStoreQueries.FillSeriesCatalogAsync(connection, schema, ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"select service, endpoint from {schema}.{SeriesCatalogTable.Name}";
        var rows = new List<(string, string)>();
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                rows.Add((reader.GetString(0), reader.GetString(1)));
            }
        }
        Recorded(rows);
    }

    public static NpgsqlBatchCommand Insert(string schema, IReadOnlyList<(string Service, string Endpoint)> series)
    {
        var command = new NpgsqlBatchCommand(
            $"""
             insert into {schema}.{SeriesCatalogTable.Name} (service, endpoint, first_stored_at)
             select s, e, now() from unnest($1::text[], $2::text[]) as t(s, e) on conflict do nothing
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = series.Select(s => s.Service).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = series.Select(s => s.Endpoint).ToArray() });
        return command;
    }

    private ServiceSeries Of(string service)
    {
        if (!_services.TryGetValue(service, out var series))
        {
            series = new ServiceSeries();
            _services.Add(service, series);
        }
        return series;
    }

    private sealed class ServiceSeries
    {
        // Admitted here or found in the table: what the limit counts.
        public HashSet<string> Endpoints { get; } = new(StringComparer.Ordinal);
        // Known to have a row in the table (so the writer need not insert it again).
        public HashSet<string> Recorded { get; } = new(StringComparer.Ordinal);
        public long Refusals { get; set; }
        // A few refused names for /health, bounded: refused names are exactly what a misbehaving client floods.
        public HashSet<string> RefusedSample { get; } = new(StringComparer.Ordinal);
    }
}
