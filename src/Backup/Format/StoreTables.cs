using MaestroSla.EventStore;
using MaestroSla.Ingest.Storage;
using Marten;
using Npgsql;

namespace MaestroSla.Backup.Format;

/// <summary>Where a store keeps what a backup reads and a restore writes, resolved from its configuration.</summary>
internal sealed record StoreTables(string EventSchema, string Schema, string DeadLetterTable)
{
    public string Events => EventStoreQueries.EventsTable(EventSchema);
    public string Streams => EventStoreQueries.StreamsTable(EventSchema);
    public string Progression => EventStoreQueries.ProgressionTable(EventSchema);
    public string EventSequence => EventStoreQueries.EventSequence(EventSchema);
    public string KafkaOffsets => $"{Schema}.{StoredKafkaOffsets.TableName}";
    public string KafkaOffsetHistory => $"{Schema}.{StoredKafkaOffsets.HistoryTableName}";

    public static StoreTables For(IDocumentStore store) => new(
        store.Options.Events.DatabaseSchemaName,
        store.Options.DatabaseSchemaName,
        store.Options.FindOrResolveDocumentType(typeof(DeadLetter)).TableName.QualifiedName);

    /// <summary>
    /// The columns the events table has in this database: Marten adds optional ones (headers, correlation ids …) by
    /// configuration, and a backup carries exactly those present.
    /// </summary>
    public async Task<HashSet<string>> EventColumnsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "select column_name from information_schema.columns where table_schema = $1 and table_name = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = EventSchema });
        command.Parameters.Add(new NpgsqlParameter { Value = EventStoreQueries.EventsTableName });
        var columns = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            columns.Add(reader.GetString(0));
        }
        return columns;
    }
}
