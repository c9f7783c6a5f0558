using MaestroSla.Ingest.Batching;
using Marten;
using Marten.Services;
using Npgsql;

namespace MaestroSla.Ingest.Storage;

/// <summary>Where a Kafka batch came from: per partition, the stored offset it started at and the next one.</summary>
public readonly record struct PartitionAdvance(int Partition, long? Expected, long Next);

/// <summary>Another consumer stored offsets for a partition of this batch first: the batch was not stored.</summary>
public sealed class PartitionFencedException(string topic, int partition)
    : Exception($"Partition {topic}[{partition}] was advanced by another consumer; this batch was rolled back.");

/// <summary>
/// Stores one batch — events, dead letters and (for Kafka) the partitions' next offsets — in one PostgreSQL
/// transaction, so that after any crash either all of it is there or none of it.
/// </summary>
public sealed class IngestBatchWriter(IDocumentStore store)
{
    private readonly string _schema = store.Options.DatabaseSchemaName;

    public Task WriteAsync(IngestBatch batch, CancellationToken ct) =>
        WriteAsync(batch, group: null, topic: null, [], ct);

    public async Task WriteAsync(
        IngestBatch batch, string? group, string? topic, IReadOnlyList<PartitionAdvance> advances, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // Offsets first: the row locks make a competing consumer of the same partition wait here, and the
        // loser finds out before doing any other work.
        if (advances.Count > 0)
        {
            await AdvanceOffsetsAsync(connection, transaction, group!, topic!, advances, ct);
        }

        await using (var session = store.LightweightSession(SessionOptions.ForTransaction(transaction)))
        {
            foreach (var (service, events) in batch.ToEventsByService())
            {
                session.Events.Append(service, events);
            }
            foreach (var deadLetter in batch.DeadLetters)
            {
                session.Store(deadLetter);
            }
            await session.SaveChangesAsync(ct);
        }

        await transaction.CommitAsync(ct);
    }

    private async Task AdvanceOffsetsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string group, string topic,
        IReadOnlyList<PartitionAdvance> advances, CancellationToken ct)
    {
        await using var commands = new NpgsqlBatch(connection, transaction);
        foreach (var advance in advances)
        {
            commands.BatchCommands.Add(StoredKafkaOffsets.Advance(_schema, group, topic, advance.Partition, advance.Expected, advance.Next));
        }
        foreach (var advance in advances)
        {
            commands.BatchCommands.Add(StoredKafkaOffsets.RecordHistory(_schema, group, topic, advance.Partition, advance.Next));
        }
        await commands.ExecuteNonQueryAsync(ct);
        for (var i = 0; i < advances.Count; i++)
        {
            if (commands.BatchCommands[i].RecordsAffected != 1)
            {
                throw new PartitionFencedException(topic, advances[i].Partition);
            }
        }
    }
}
