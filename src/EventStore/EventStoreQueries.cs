using JasperFx.Events;
using MaestroSla.Contracts.Events;
using Marten;
using Npgsql;

namespace MaestroSla.EventStore;

/// <summary>
/// Every query of Marten's own tables — mt_streams, mt_events, mt_event_progression — their names, and every use of the
/// stream-key convention in SQL: the one place to change when Marten's schema or the keys change. Elsewhere the code
/// asks here or uses Marten's API; backups copy the tables under the names given here.
/// </summary>
/// <remarks>
/// Ingest streams are keyed <c>{service}|ingest|{slot}</c> (<see cref="IngestStreams"/>); stores written before slots
/// keyed them by the service alone. Other streams (targets, alerts, gaps) carry a '|' elsewhere — the wire contract
/// refuses it in names, so no service name holds one — and Marten keeps the sequence numbers of failed appends in its
/// tombstone stream.
/// </remarks>
public static class EventStoreQueries
{
    /// <summary>The events table's name, unqualified (as information_schema knows it).</summary>
    public const string EventsTableName = "mt_events";

    /// <summary>mt_events, qualified with the store's event schema.</summary>
    public static string EventsTable(IReadOnlyStoreOptions options) => EventsTable(options.Events.DatabaseSchemaName);

    public static string EventsTable(string eventSchema) => $"{eventSchema}.{EventsTableName}";

    public static string StreamsTable(string eventSchema) => $"{eventSchema}.mt_streams";

    public static string ProgressionTable(string eventSchema) => $"{eventSchema}.mt_event_progression";

    /// <summary>The sequence that numbers the events (seq_id).</summary>
    public static string EventSequence(string eventSchema) => $"{eventSchema}.mt_events_sequence";

    private static string StreamsTable(IReadOnlyStoreOptions options) => StreamsTable(options.Events.DatabaseSchemaName);

    private static string ProgressionTable(IReadOnlyStoreOptions options) => ProgressionTable(options.Events.DatabaseSchemaName);

    /// <summary>Every service that has recorded anything, in ordinal order.</summary>
    public static async Task<IReadOnlyList<string>> ServicesAsync(IQuerySession session, CancellationToken ct)
    {
        var services = (await session.AdvancedSql.QueryAsync<string>(
            $"""
             select distinct case when position(? in id) > 0 then left(id, position(? in id) - 1) else id end
             from {StreamsTable(session.DocumentStore.Options)}
             where position(? in id) > 0 or (position('|' in id) = 0 and id <> ?)
             """,
            ct,
            IngestStreams.Infix, IngestStreams.Infix, IngestStreams.Infix, Tombstone.StreamKey)).ToList();
        services.Sort(StringComparer.Ordinal);
        return services;
    }

    /// <summary>The keys of every stream that holds <paramref name="service"/>'s ingested events.</summary>
    public static async Task<string[]> ServiceStreamKeysAsync(IQuerySession session, string service, CancellationToken ct) =>
        (await session.AdvancedSql.QueryAsync<string>(
            $"select id from {StreamsTable(session.DocumentStore.Options)} where id = ? or starts_with(id, ?)",
            ct,
            service, IngestStreams.PrefixOf(service))).ToArray();

    /// <summary>The keys of the streams whose key starts with <paramref name="prefix"/>.</summary>
    public static async Task<IReadOnlyList<string>> StreamKeysStartingWithAsync(IQuerySession session, string prefix, CancellationToken ct) =>
        await session.AdvancedSql.QueryAsync<string>(
            $"select id from {StreamsTable(session.DocumentStore.Options)} where starts_with(id, ?)", ct, prefix);

    /// <summary>
    /// SQL for the last event sequence every one of <paramref name="shardIdentities"/> has applied (0 while any has
    /// not started); the slowest decides.
    /// </summary>
    /// <param name="shardIdentities">Our own projection shard names (letters, digits, '_' and ':'), so they can be literals.</param>
    public static string SlowestProgressSql(IReadOnlyStoreOptions options, IEnumerable<string> shardIdentities)
    {
        var names = string.Join(", ", shardIdentities.Select(name => $"'{name}'"));
        return $"(select coalesce(min(coalesce(p.last_seq_id, 0)), 0) from unnest(array[{names}]::text[]) as shard(name) " +
            $"left join {ProgressionTable(options)} p on p.name = shard.name)";
    }

    public static async Task<long> SlowestProgressAsync(IQuerySession session, IEnumerable<string> shardIdentities, CancellationToken ct)
    {
        var progress = await session.AdvancedSql.QueryAsync<long>($"select {SlowestProgressSql(session.DocumentStore.Options, shardIdentities)}", ct);
        return progress.Count == 0 ? 0 : progress[0];
    }

    /// <summary>The slowest shard's progress and the newest event's sequence (0 without events), in one round trip.</summary>
    public static async Task<(long Progress, long LastSequence)> SlowestProgressAndLastSequenceAsync(
        IQuerySession session, IEnumerable<string> shardIdentities, CancellationToken ct)
    {
        var options = session.DocumentStore.Options;
        var rows = await session.AdvancedSql.QueryAsync<long>(
            "select v from unnest(array[" +
            $"{SlowestProgressSql(options, shardIdentities)}, " +
            $"coalesce((select max(seq_id) from {EventsTable(options)}), 0)" +
            "]) with ordinality as t(v, i) order by i", ct);
        return (rows[0], rows[1]);
    }

    /// <summary>
    /// How long the oldest event some of <paramref name="shardIdentities"/> has not processed yet has been waiting
    /// (zero when they are caught up), on the database's clock against the events' own timestamps.
    /// </summary>
    public static async Task<TimeSpan> OldestUnprocessedAgeAsync(IQuerySession session, string[] shardIdentities, CancellationToken ct)
    {
        var options = session.DocumentStore.Options;
        var seconds = await session.AdvancedSql.QueryAsync<double>(
            $"""
            select coalesce(extract(epoch from now() - min(e.timestamp))::float8, 0)
            from (select timestamp from {EventsTable(options)}
                  where seq_id > (select coalesce(min(coalesce(p.last_seq_id, 0)), 0)
                                  from unnest(?::text[]) as shard(name)
                                  left join {ProgressionTable(options)} p on p.name = shard.name)
                  order by seq_id
                  limit 1) e
            """,
            ct,
            // As one text[] parameter, not spread as params (a string[] is an object[]).
            (object)shardIdentities);
        return TimeSpan.FromSeconds(Math.Max(0, seconds[0]));
    }

    /// <summary>The progress rows whose name starts with <paramref name="namePrefix"/> and that have applied any event.</summary>
    /// <param name="namePrefix">One of our projection names (letters, digits and '_'), so it can be a literal.</param>
    public static async Task<IReadOnlyList<string>> ProgressedShardsAsync(IQuerySession session, string namePrefix, CancellationToken ct) =>
        await session.AdvancedSql.QueryAsync<string>(
            $"""
            select name from {ProgressionTable(session.DocumentStore.Options)}
            where name like '{namePrefix}%' and last_seq_id > 0
            """,
            ct);

    /// <summary>
    /// Fills an empty series catalogue (<see cref="SeriesCatalogTable"/>) from the telemetry events: a store restored from
    /// a backup, or written before the catalogue existed. Does nothing when the catalogue has any row.
    /// </summary>
    /// <param name="schema">The store's schema, holding both the catalogue and the events.</param>
    public static async Task FillSeriesCatalogAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await using var fill = connection.CreateCommand();
        fill.CommandText =
            $"""
             insert into {schema}.{SeriesCatalogTable.Name} (service, endpoint, first_stored_at)
             select data->>'Service', coalesce(data->>'Endpoint', '{SeriesCatalogTable.ServiceRow}'), min(timestamp)
             from {EventsTable(schema)}
             where type in ('requests_recorded', 'downtime_recorded', 'health_checked')
               and not exists (select 1 from {schema}.{SeriesCatalogTable.Name})
             group by 1, 2
             union all
             select distinct data->>'Service', '{SeriesCatalogTable.ServiceRow}', min(timestamp)
             from {EventsTable(schema)}
             where type = 'requests_recorded' and not exists (select 1 from {schema}.{SeriesCatalogTable.Name})
             group by 1
             on conflict do nothing
             """;
        await fill.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The customers the customer catalogue holds for <paramref name="service"/> ("(other)" among them once requests
    /// were counted under it), read by the table's primary key: cheap however long the history. Null while the
    /// catalogues are not filled — no endpoint row at all: a store without requests, or one just restored, before
    /// ingest refilled them from the events.
    /// </summary>
    public static async Task<List<string>?> CataloguedCustomersAsync(IQuerySession session, string service, CancellationToken ct)
    {
        var schema = session.DocumentStore.Options.DatabaseSchemaName;
        // One round trip; an empty name (which ingest never admits) marks a catalogue not filled yet.
        var rows = await session.AdvancedSql.QueryAsync<string>(
            $"""
             select customer from {schema}.{SeriesCatalogTable.CustomerTableName} where service = ?
             union all
             select '' where not exists (select 1 from {schema}.{SeriesCatalogTable.Name})
             """,
            ct,
            service);
        return rows.Contains("") ? null : [.. rows];
    }

    /// <summary>
    /// Fills an empty customer catalogue (<see cref="SeriesCatalogTable.CustomerTableName"/>) from the customer events, as
    /// <see cref="FillSeriesCatalogAsync"/> does the series catalogue. Does nothing when the catalogue has any row, or when
    /// the series catalogue has one: only a store whose catalogues are both empty (restored from a backup) needs it, and a
    /// store whose services name no customer keeps this catalogue empty for good — without the second condition every
    /// partition assignment would read the whole events table (no index on the type) to find no customer event.
    /// Run it before <see cref="FillSeriesCatalogAsync"/>, which ends that state.
    /// </summary>
    public static async Task FillCustomerCatalogAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await using var fill = connection.CreateCommand();
        fill.CommandText =
            $"""
             insert into {schema}.{SeriesCatalogTable.CustomerTableName} (service, customer, first_stored_at)
             select data->>'Service', data->>'Customer', min(timestamp)
             from {EventsTable(schema)}
             where type = 'customer_requests_recorded'
               and not exists (select 1 from {schema}.{SeriesCatalogTable.CustomerTableName})
               and not exists (select 1 from {schema}.{SeriesCatalogTable.Name})
             group by 1, 2
             on conflict do nothing
             """;
        await fill.ExecuteNonQueryAsync(ct);
    }
}
