using MaestroSla.Contracts.Messages;
using Npgsql;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Ingest.Storage;

/// <summary>
/// Where each (group, topic, partition) stands, written in the same PostgreSQL transaction as the events of each
/// flush. This table, not Kafka's committed offsets, decides where a consumer resumes: that is what makes ingest
/// exactly once across crashes and rebalances.
/// </summary>
/// <remarks>
/// The consumer keeps the requests of minutes still open in memory, so a row holds three things:
/// <c>next_offset</c> (P), the offset after the last message read into a stored batch — the fence;
/// <c>resume_offset</c> (O ≤ P), the first offset whose requests are still only in memory; and
/// <c>closed_before</c> (C), the minute before which everything read is stored. Below P, a message is stored
/// unless it is a request at or after C. A consumer taking the partition over reads from O and, below P, keeps
/// only the requests at or after C. O = P (C null) when nothing is held.
/// </remarks>
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
        // Null in rows written before minutes were held open: resume at next_offset.
        table.AddColumn("resume_offset", "bigint");
        table.AddColumn("closed_before", "timestamptz");
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
        table.AddColumn("resume_offset", "bigint");
        table.AddColumn("closed_before", "timestamptz");
        table.Indexes.Add(new IndexDefinition("idx_kafka_offset_history_committed_at") { Columns = ["committed_at"] });
        return table;
    }

    public static NpgsqlBatchCommand RecordHistory(string schema, string group, string topic, PartitionAdvance advance)
    {
        var command = new NpgsqlBatchCommand(
            $"""
             insert into {schema}.{HistoryTableName} (consumer_group, topic, partition, next_offset, committed_at, resume_offset, closed_before)
             values ($1, $2, $3, $4, now(), $5, $6)
             """);
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Partition });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Next });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Resume });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)advance.ClosedBefore ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        return command;
    }

    public static async Task<Dictionary<int, StoredPosition>> LoadAsync(
        NpgsqlConnection connection, string schema, string group, string topic, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText =
            $"select partition, next_offset, resume_offset, closed_before, updated_at from {schema}.{TableName} where consumer_group = $1 and topic = $2";
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        var positions = new Dictionary<int, StoredPosition>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var next = reader.GetInt64(1);
            var resume = reader.IsDBNull(2) ? next : reader.GetInt64(2);
            DateTimeOffset? closedBefore = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
            positions[reader.GetInt32(0)] = new StoredPosition(next, resume, closedBefore, reader.GetFieldValue<DateTimeOffset>(4));
        }
        return positions;
    }

    /// <summary>
    /// Moves a partition from <paramref name="expected"/> (null: never stored) to <paramref name="next"/>, or
    /// returns false when someone else moved it first: another consumer owns the partition now and this batch
    /// must not be stored. Concurrent writers queue on the row lock, and the loser sees the winner's value.
    /// </summary>
    public static NpgsqlBatchCommand Advance(string schema, string group, string topic, PartitionAdvance advance)
    {
        var command = new NpgsqlBatchCommand(advance.Expected is null
            ? $"""
               insert into {schema}.{TableName} (consumer_group, topic, partition, next_offset, updated_at, resume_offset, closed_before)
               values ($1, $2, $3, $4, now(), $5, $6) on conflict do nothing
               """
            : $"""
               update {schema}.{TableName} set next_offset = $4, updated_at = now(), resume_offset = $5, closed_before = $6
               where consumer_group = $1 and topic = $2 and partition = $3 and next_offset = $7
               """);
        command.Parameters.Add(new NpgsqlParameter { Value = group });
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Partition });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Next });
        command.Parameters.Add(new NpgsqlParameter { Value = advance.Resume });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)advance.ClosedBefore ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        if (advance.Expected is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = advance.Expected.Value });
        }
        return command;
    }
}

/// <summary>A partition's stored row: see <see cref="StoredKafkaOffsets"/> for what P, O and C mean.</summary>
public readonly record struct StoredPosition(long Next, long Resume, DateTimeOffset? ClosedBefore, DateTimeOffset UpdatedAt)
{
    /// <summary>Whether a message read from below <see cref="Next"/> on resuming at <see cref="Resume"/> is to be taken again.</summary>
    public bool IsStillOpen(long offset, in DecodedMessage message) =>
        offset >= Next
        || (ClosedBefore is { } closedBefore && message.IsValid && message.Kind == MessageKind.Request && message.Request.Timestamp >= closedBefore);
}
