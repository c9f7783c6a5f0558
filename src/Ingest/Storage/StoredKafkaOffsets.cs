using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Ingest.Storage;

/// <summary>
/// The next Kafka offset to read per (group, topic, partition), written in the same PostgreSQL transaction as the
/// events of each flush. This table, not Kafka's committed offsets, decides where a consumer resumes: that is what
/// makes ingest exactly once across crashes and rebalances.
/// </summary>
public static class StoredKafkaOffsets
{
    public const string TableName = "kafka_offsets";

    /// <summary>
    /// Every advance, stamped with its transaction's now() — the same instant Marten gives that transaction's
    /// events — so a point-in-time restore to T can tell where each partition stood at T.
    /// </summary>
    public const string HistoryTableName = "kafka_offset_history";

    public static Table Table(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("consumer_group").AsPrimaryKey();
        table.AddColumn<string>("topic").AsPrimaryKey();
        table.AddColumn<int>("partition").AsPrimaryKey();
        table.AddColumn<long>("next_offset").NotNull();
        table.AddColumn("updated_at", "timestamptz").NotNull();
        return table;
    }

    public static Table HistoryTable(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, HistoryTableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn("id", "bigserial").AsPrimaryKey();
        table.AddColumn<string>("consumer_group").NotNull();
        table.AddColumn<string>("topic").NotNull();
        table.AddColumn<int>("partition").NotNull();
        table.AddColumn<long>("next_offset").NotNull();
        table.AddColumn("committed_at", "timestamptz").NotNull();
        table.Indexes.Add(new IndexDefinition("idx_kafka_offset_history_committed_at") { Columns = ["committed_at"] });
        return table;
    }

    public static NpgsqlBatchCommand RecordHistory(string schema, string group, string topic, int partition, long next)
    {
        var command = new NpgsqlBatchCommand(
            $"insert into {schema}.{HistoryTableName} (consumer_group, topic, partition, next_offset, committed_at) values ($1, $2, $3, $4, now())");
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = partition });
        command.Parameters.Add(new NpgsqlParameter { Value = next });
        return command;
    }

    public static async Task<Dictionary<int, long>> LoadAsync(
        NpgsqlConnection connection, string schema, string group, string topic, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"select partition, next_offset from {schema}.{TableName} where consumer_group = $1 and topic = $2";
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        var offsets = new Dictionary<int, long>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            offsets[reader.GetInt32(0)] = reader.GetInt64(1);
        }
        return offsets;
    }

    /// <summary>
    /// Moves a partition from <paramref name="expected"/> (null: never stored) to <paramref name="next"/>, or
    /// returns false when someone else moved it first: another consumer owns the partition now and this batch
    /// must not be stored. Concurrent writers queue on the row lock, and the loser sees the winner's value.
    /// </summary>
    public static NpgsqlBatchCommand Advance(string schema, string group, string topic, int partition, long? expected, long next)
    {
        var command = new NpgsqlBatchCommand(expected is null
            ? $"""
               insert into {schema}.{TableName} (consumer_group, topic, partition, next_offset, updated_at)
               values ($1, $2, $3, $4, now()) on conflict do nothing
               """
            : $"""
               update {schema}.{TableName} set next_offset = $4, updated_at = now()
               where consumer_group = $1 and topic = $2 and partition = $3 and next_offset = $5
               """);
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = partition });
        command.Parameters.Add(new NpgsqlParameter { Value = next });
        if (expected is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = expected.Value });
        }
        return command;
    }
}
