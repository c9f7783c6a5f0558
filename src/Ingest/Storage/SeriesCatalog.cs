using System.Diagnostics.Metrics;
using MaestroSla.Contracts.Events;
using MaestroSla.EventStore;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Ingest.Storage;

/// <summary>
/// The per-service cardinality guards and the catalogues behind them: <see cref="Endpoints"/> and
/// <see cref="Customers"/>. A client that puts ids into endpoint or customer names would otherwise create a series —
/// events, rollups, report rows — per id: past a service's limit its new names are counted under "(other)".
/// </summary>
/// <remarks>
/// One per process, shared by the Kafka consumer and HTTP requests. The decision for a name is made once, in
/// memory, and becomes durable with the first events of that name (its catalogue row goes in the same transaction),
/// so a replay after a crash decides the same way for everything that was stored. Processes learn each other's names
/// when they load the catalogues (at start and on every partition assignment); until then two processes may each
/// admit a name past the limit, so the limit can be exceeded by a few, never by a runaway.
/// </remarks>
public sealed class SeriesCatalog
{
    public const int DefaultEndpointLimit = 2_000;

    public const int DefaultCustomerLimit = 1_000;

    public const string MeterName = "MaestroSla.Ingest";

    private static readonly Meter Meter = new(MeterName);
    // Counted when a batch first sees a series' minute, and for every request of a name refused (it has no minute
    // of its own to be found in).
    private static readonly Counter<long> EndpointRefusals = Meter.CreateCounter<long>(
        "maestrosla_ingest_endpoint_limit_refusals", unit: "{series}",
        description: "Endpoint-minutes counted under (other) because their service had reached its endpoint limit");
    private static readonly Counter<long> CustomerRefusals = Meter.CreateCounter<long>(
        "maestrosla_ingest_customer_limit_refusals", unit: "{series}",
        description: "Customer-minutes counted under (other) because their service had reached its customer limit");

    private static readonly SeriesKind EndpointKind = new(
        SeriesCatalogTable.Name, "endpoint", "endpoints", SeriesCatalogTable.OtherEndpoint, SeriesCatalogTable.ServiceRow,
        EventStoreQueries.FillSeriesCatalogAsync);
    private static readonly SeriesKind CustomerKind = new(
        SeriesCatalogTable.CustomerTableName, "customer", "customers", SeriesCatalogTable.OtherCustomer, ServiceRow: null,
        EventStoreQueries.FillCustomerCatalogAsync);

    public SeriesCatalog(int endpointLimit = DefaultEndpointLimit, int customerLimit = DefaultCustomerLimit)
    {
        Endpoints = new SeriesLimit(EndpointKind, endpointLimit, EndpointRefusals);
        Customers = new SeriesLimit(CustomerKind, customerLimit, CustomerRefusals);
    }

    /// <summary>Endpoints per service (requests' <c>endpoint</c>); its catalogue also holds each service's "*" row.</summary>
    public SeriesLimit Endpoints { get; }

    /// <summary>Customers per service (requests' optional <c>customer</c>).</summary>
    public SeriesLimit Customers { get; }

    /// <summary>The table of (service, endpoint) series.</summary>
    public static Table Table(string schema) => EndpointKind.CreateTable(schema);

    /// <summary>The table of (service, customer) series.</summary>
    public static Table CustomerTable(string schema) => CustomerKind.CreateTable(schema);

    /// <summary>
    /// Adds what the tables hold (other processes' names among it) to what this process knows. An empty table in a
    /// store that has events (restored from a backup, or written before the catalogue existed) is filled from the
    /// events first.
    /// </summary>
    public async Task LoadAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        // Customers first: their catalogue is filled from the events only while the endpoints' is empty too.
        await Customers.LoadAsync(connection, schema, ct);
        await Endpoints.LoadAsync(connection, schema, ct);
    }

    /// <param name="TableName">Unqualified; its columns are service, <paramref name="Column"/> and first_stored_at.</param>
    /// <param name="Plural">How descriptions count the names ("endpoints").</param>
    /// <param name="ServiceRow">A name that marks the service itself and is not counted, if the catalogue has one.</param>
    /// <param name="Fill">Fills the table from the events when it is empty.</param>
    internal sealed record SeriesKind(
        string TableName, string Column, string Plural, string Other, string? ServiceRow,
        Func<NpgsqlConnection, string, CancellationToken, Task> Fill)
    {
        public Table CreateTable(string schema)
        {
            var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
            table.AddColumn<string>("service").AsPrimaryKey();
            table.AddColumn<string>(Column).AsPrimaryKey();
            table.AddColumn("first_stored_at", "timestamptz").NotNull();
            return table;
        }
    }
}

/// <summary>The limit on one kind of name per service (see <see cref="SeriesCatalog"/>), and its catalogue.</summary>
public sealed class SeriesLimit
{
    private const int RefusedSampleSize = 20;

    private readonly SeriesCatalog.SeriesKind _kind;
    private readonly Counter<long> _refusals;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServiceSeries> _services = new(StringComparer.Ordinal);

    internal SeriesLimit(SeriesCatalog.SeriesKind kind, int limit, Counter<long> refusals)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _kind = kind;
        _refusals = refusals;
        Limit = limit;
    }

    /// <summary>Most names per service before new ones are counted under <see cref="Other"/>.</summary>
    public int Limit { get; }

    /// <summary>"endpoint" or "customer".</summary>
    public string Kind => _kind.Column;

    /// <summary>"endpoints" or "customers", as descriptions count them.</summary>
    public string Plural => _kind.Plural;

    /// <summary>The name that takes the requests of names past the limit: "(other)".</summary>
    public string Other => _kind.Other;

    /// <summary>The name a request of <paramref name="name"/> is counted under: itself, or <see cref="Other"/>.</summary>
    public string Admit(string service, string name)
    {
        lock (_lock)
        {
            var series = Of(service);
            if (series.Names.Contains(name))
            {
                return name;
            }
            if (series.Names.Count < Limit)
            {
                series.Names.Add(name);
                return name;
            }
            series.Refusals++;
            if (series.RefusedSample.Count < RefusedSampleSize)
            {
                series.RefusedSample.Add(name);
            }
            _refusals.Add(1);
            return _kind.Other;
        }
    }

    /// <summary>Services whose names reached the limit: how many they have, refusals here, a few refused names.</summary>
    public IReadOnlyList<(string Service, int Names, long Refusals, IReadOnlyList<string> RefusedSample)> ServicesAtLimit()
    {
        lock (_lock)
        {
            return _services
                .Where(s => s.Value.Names.Count >= Limit)
                .Select(s => (s.Key, s.Value.Names.Count, s.Value.Refusals, (IReadOnlyList<string>)s.Value.RefusedSample.ToArray()))
                .OrderBy(s => s.Key, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <summary>Of <paramref name="series"/>, those not known to be in the catalogue table yet.</summary>
    public List<(string Service, string Name)> Unrecorded(IEnumerable<(string Service, string Name)> series)
    {
        var missing = new List<(string, string)>();
        lock (_lock)
        {
            foreach (var (service, name) in series)
            {
                if (!Of(service).Recorded.Contains(name))
                {
                    missing.Add((service, name));
                }
            }
        }
        return missing;
    }

    /// <summary>After a commit: these rows are in the table.</summary>
    public void Recorded(IEnumerable<(string Service, string Name)> series)
    {
        lock (_lock)
        {
            foreach (var (service, name) in series)
            {
                var known = Of(service);
                known.Recorded.Add(name);
                if (name != _kind.ServiceRow && name != _kind.Other)
                {
                    known.Names.Add(name);
                }
            }
        }
    }

    /// <summary>Inserts rows that may be there already (another process stored the same name first).</summary>
    public NpgsqlBatchCommand Insert(string schema, IReadOnlyList<(string Service, string Name)> series)
    {
        var command = new NpgsqlBatchCommand(
            $"""
             insert into {schema}.{_kind.TableName} (service, {_kind.Column}, first_stored_at)
             select s, n, now() from unnest($1::text[], $2::text[]) as t(s, n) on conflict do nothing
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = series.Select(s => s.Service).ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = series.Select(s => s.Name).ToArray() });
        return command;
    }

    internal async Task LoadAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await _kind.Fill(connection, schema, ct);
        await using var command = connection.CreateCommand();
        command.CommandText = $"select service, {_kind.Column} from {schema}.{_kind.TableName}";
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
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
        // Known to have a row in the table (so the writer need not insert it again).
        public HashSet<string> Recorded { get; } = new(StringComparer.Ordinal);
        public long Refusals { get; set; }
        // A few refused names for /health, bounded: refused names are exactly what a misbehaving client floods.
        public HashSet<string> RefusedSample { get; } = new(StringComparer.Ordinal);
    }
}
