using System.Globalization;
using MaestroSla.Contracts.Events;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Idempotency;
using Marten;
using Marten.Services;
using Npgsql;

namespace MaestroSla.Ingest.Storage;

/// <summary>
/// Where a Kafka batch came from, per partition: the stored read position it expects (the fence; null: none yet),
/// the new read position, where a consumer must resume (the first offset whose requests are still open in memory),
/// and the minute before which everything read is stored (null when nothing is held). See <see cref="StoredKafkaOffsets"/>.
/// </summary>
public readonly record struct PartitionAdvance(int Partition, long? Expected, long Next, long Resume, DateTimeOffset? ClosedBefore)
{
    public PartitionAdvance(int partition, long? expected, long next)
        : this(partition, expected, next, next, null)
    {
    }
}

/// <summary>Another consumer stored offsets for a partition of this batch first: the batch was not stored.</summary>
public sealed class PartitionFencedException(string topic, int partition)
    : Exception($"Partition {topic}[{partition}] was advanced by another consumer; this batch was rolled back.");

/// <summary>
/// Stores one batch — events (a service's endpoint and customer events alike), dead letters, new catalogue rows and (for Kafka) the partitions' positions — in one
/// PostgreSQL transaction, so that after any crash either all of it is there or none of it.
/// </summary>
/// <remarks>
/// Every transaction first takes a lock that makes it the only writer of its streams: the offset rows of its Kafka
/// partitions (a Kafka batch appends to the streams of the lowest of them) or one of the HTTP slots (a
/// transaction-scoped advisory lock). So concurrent writers, in one process or many, never append to the same
/// stream, and a writer that hangs holds only its own partitions, for at most the idle-in-transaction timeout.
/// </remarks>
public sealed class IngestBatchWriter
{
    // The advisory-lock class of HTTP slots (the first key of pg_try_advisory_xact_lock(int, int)).
    private const int HttpSlotLockClass = 0x4D53_4C41;

    private readonly IDocumentStore _store;
    private readonly SeriesCatalog _catalog;
    private readonly IngestWriteOptions _options;
    private readonly string _schema;

    public IngestBatchWriter(IDocumentStore store, SeriesCatalog? catalog = null, IngestWriteOptions? options = null)
    {
        _store = store;
        _catalog = catalog ?? new SeriesCatalog();
        _options = options ?? new IngestWriteOptions();
        _schema = store.Options.DatabaseSchemaName;
    }

    public SeriesCatalog Catalog => _catalog;

    /// <summary>An HTTP batch: appended to the streams of a free HTTP slot.</summary>
    public Task WriteAsync(IngestBatch batch, CancellationToken ct) =>
        WriteAsync(batch, group: null, topic: null, [], [], ct);

    /// <summary>
    /// An HTTP batch with the Idempotency-Keys of the requests it holds (distinct), recorded in its transaction; throws
    /// <see cref="IdempotencyKeysTakenException"/>, storing nothing, when another transaction stored one of them first.
    /// </summary>
    public Task WriteAsync(IngestBatch batch, IReadOnlyList<IdempotencyRecord> keys, TimeSpan keyLifetime, CancellationToken ct) =>
        WriteAsync(batch, group: null, topic: null, [], [], ct, keys, keyLifetime);

    public async Task WriteAsync(
        IngestBatch batch, string? group, string? topic, IReadOnlyList<PartitionAdvance> advances,
        IReadOnlyList<IngestGapDetected> gaps, CancellationToken ct,
        IReadOnlyList<IdempotencyRecord>? keys = null, TimeSpan keyLifetime = default)
    {
        // Everything CPU-bound happens before the transaction opens: an open transaction never waits on us.
        var eventsByService = batch.ToEventsByService();
        var newSeries = _catalog.Endpoints.Unrecorded(batch.Series());
        var newCustomers = _catalog.Customers.Unrecorded(batch.Customers());

        await using var connection = _store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        await using (var commands = new NpgsqlBatch(connection, transaction))
        {
            commands.BatchCommands.Add(Timeouts());
            foreach (var advance in advances)
            {
                commands.BatchCommands.Add(StoredKafkaOffsets.Advance(_schema, group!, topic!, advance));
            }
            // Offsets first: the row locks make a competing consumer of the same partition wait here, and the loser
            // finds out (below) before doing any other work.
            await commands.ExecuteNonQueryAsync(ct);
            for (var i = 0; i < advances.Count; i++)
            {
                if (commands.BatchCommands[i + 1].RecordsAffected != 1)
                {
                    throw new PartitionFencedException(topic!, advances[i].Partition);
                }
            }
        }

        if (keys is { Count: > 0 })
        {
            // Before any other work: a key taken by a concurrent transaction is found (after waiting for it) here.
            var stored = await IdempotencyKeys.InsertAsync(connection, transaction, _schema, keys, keyLifetime, ct);
            if (stored.Count != keys.Count)
            {
                var taken = new List<(string, string)>();
                foreach (var key in keys)
                {
                    if (!stored.Contains((key.Scope, key.Key)))
                    {
                        taken.Add((key.Scope, key.Key));
                    }
                }
                throw new IdempotencyKeysTakenException(taken);
            }
        }

        string slot;
        if (advances.Count > 0)
        {
            slot = IngestStreams.KafkaSlot(topic!, advances.Min(a => a.Partition));
        }
        else
        {
            slot = IngestStreams.HttpSlot(await TakeHttpSlotAsync(connection, transaction, ct));
        }

        await using (var commands = new NpgsqlBatch(connection, transaction))
        {
            foreach (var advance in advances)
            {
                commands.BatchCommands.Add(StoredKafkaOffsets.RecordHistory(_schema, group!, topic!, advance));
            }
            if (newSeries.Count > 0)
            {
                commands.BatchCommands.Add(_catalog.Endpoints.Insert(_schema, newSeries));
            }
            if (newCustomers.Count > 0)
            {
                commands.BatchCommands.Add(_catalog.Customers.Insert(_schema, newCustomers));
            }
            if (commands.BatchCommands.Count > 0)
            {
                await commands.ExecuteNonQueryAsync(ct);
            }
        }

        await using (var session = _store.LightweightSession(SessionOptions.ForTransaction(transaction)))
        {
            foreach (var (service, events) in eventsByService)
            {
                session.Events.Append(IngestStreams.For(service, slot), events);
            }
            foreach (var gap in gaps)
            {
                session.Events.Append(IngestGapStreams.For(gap.Topic, gap.Partition), gap);
            }
            foreach (var deadLetter in batch.DeadLetters)
            {
                session.Store(deadLetter);
            }
            await session.SaveChangesAsync(ct);
        }

        await transaction.CommitAsync(ct);
        _catalog.Endpoints.Recorded(newSeries);
        _catalog.Customers.Recorded(newCustomers);
    }

    private NpgsqlBatchCommand Timeouts()
    {
        var command = new NpgsqlBatchCommand(
            "select set_config('idle_in_transaction_session_timeout', $1, true), set_config('lock_timeout', $2, true), set_config('statement_timeout', $3, true)");
        command.Parameters.Add(new NpgsqlParameter { Value = Milliseconds(_options.IdleInTransactionTimeout) });
        command.Parameters.Add(new NpgsqlParameter { Value = Milliseconds(_options.LockTimeout) });
        command.Parameters.Add(new NpgsqlParameter { Value = Milliseconds(_options.StatementTimeout) });
        return command;
    }

    private static string Milliseconds(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A free HTTP slot, locked until the transaction ends; when every slot is busy, waits for one (bounded by the
    /// lock timeout).
    /// </summary>
    private async Task<int> TakeHttpSlotAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken ct)
    {
        await using (var command = new NpgsqlCommand(
            "select s from generate_series(0, $1 - 1) as s where pg_try_advisory_xact_lock($2, s) limit 1", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = _options.HttpSlots });
            command.Parameters.Add(new NpgsqlParameter { Value = HttpSlotLockClass });
            if (await command.ExecuteScalarAsync(ct) is int free)
            {
                return free;
            }
        }
        var slot = Random.Shared.Next(_options.HttpSlots);
        await using (var command = new NpgsqlCommand("select pg_advisory_xact_lock($1, $2)", connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = HttpSlotLockClass });
            command.Parameters.Add(new NpgsqlParameter { Value = slot });
            await command.ExecuteNonQueryAsync(ct);
        }
        return slot;
    }
}

/// <summary>Gaps are appended by the owner of their partition, to a stream of that partition's own.</summary>
public static class IngestGapStreams
{
    public static string For(string topic, int partition) => $"ingest-gaps|{IngestStreams.KafkaSlot(topic, partition)}";
}
