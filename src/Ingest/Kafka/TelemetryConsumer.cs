using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace MaestroSla.Ingest.Kafka;

/// <summary>
/// Reads the telemetry topic as a member of a consumer group and stores each batch exactly once: the batch's
/// events and the partitions' next offsets commit in one PostgreSQL transaction, and every (re)assigned
/// partition resumes from the offset stored there. Invalid messages become dead letters in the same transaction.
/// </summary>
/// <remarks>
/// Two batches take turns: while one is written in the background, the loop keeps reading into the other, so
/// consuming does not stop while PostgreSQL commits. At most one write is in flight, and the next batch is
/// handed over only after it committed, so each write is fenced on offsets that are stored, never on hopes.
/// </remarks>
public sealed class TelemetryConsumer(
    IOptions<KafkaIngestOptions> options,
    KafkaBootstrap bootstrap,
    TelemetryDecoder decoder,
    IDocumentStore store,
    IngestBatchWriter writer,
    IngestProgress progress,
    TimeProvider time,
    ILogger<TelemetryConsumer> logger) : BackgroundService
{
    private readonly KafkaIngestOptions _options = options.Value;

    // The batch the loop reads into, and the one written by _write (or idle when _write is null).
    private PendingBatch _filling = new();
    private PendingBatch _writing = new();
    private Task? _write;

    // Per assigned partition: the offset committed in PostgreSQL (null: none yet). Only the loop and the group
    // callbacks (which run inside Consume, on the loop) touch it, and only after a write is settled.
    private readonly Dictionary<int, long?> _storedOffsets = [];

    // Without the stored offsets a partition cannot start safely, so keep asking until the database answers.
    private readonly ResiliencePipeline _untilDatabaseAnswers = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(10),
            UseJitter = true,
            OnRetry = args =>
            {
                logger.LogWarning(args.Outcome.Exception, "Cannot read stored offsets; retry {Attempt} in {Delay}", args.AttemptNumber + 1, args.RetryDelay);
                return ValueTask.CompletedTask;
            },
        })
        .Build();
    private bool _rewindNeeded;
    private readonly CancellationTokenSource _crash = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        // Consume() blocks, and the group callbacks run inside it: give the loop a thread of its own.
        Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    /// <summary>
    /// Models a crash for the tests: the loop stops with neither a final flush nor leaving the group, a write in
    /// progress is rolled back, and the Kafka client is disposed without Close(), as when the process dies.
    /// </summary>
    internal void SimulateCrash() => _crash.Cancel();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _crash.Token);
        var ct = linked.Token;
        using var consumer = new ConsumerBuilder<Ignore, KafkaTelemetry>(_options.ToConsumerConfig(bootstrap.BootstrapServers, bootstrap.GroupId))
            .SetValueDeserializer(new TelemetryDeserializer(decoder))
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetErrorHandler((_, error) => logger.LogWarning("Kafka: {Reason}", error.Reason))
            .Build();
        consumer.Subscribe(_options.Topic);
        logger.LogInformation("Ingest consuming {Topic} on {Servers} as group {Group}", _options.Topic, bootstrap.BootstrapServers, bootstrap.GroupId);

        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (_rewindNeeded)
                {
                    await RewindAsync(consumer, ct);
                }

                var result = Consume(consumer, ct);
                // A group callback inside Consume may have asked for a rewind; then this message is read again.
                if (_rewindNeeded)
                {
                    continue;
                }
                if (result?.Message is not null)
                {
                    Accept(result);
                }

                // Settle a finished write at once: stored offsets, Kafka's lag offsets and progress follow the commit.
                if (_write is { IsCompleted: true })
                {
                    Settle(consumer);
                }

                // Store when the batch is full, old enough, or when there is nothing more to read right now:
                // under load batches grow up to the limits, while a quiet topic is stored at once.
                var full = _filling.Batch.MessageCount >= _options.MaxBatchMessages;
                var due = full || result is null || Environment.TickCount64 >= _filling.FlushBy;
                if (_filling.Batch.IsEmpty || !due)
                {
                    continue;
                }
                if (_write is not null && full)
                {
                    // The only wait on the database under load: a full batch while the previous one still commits.
                    await SettleAsync(consumer);
                }
                // Otherwise, with a write in flight, keep reading: the batch goes as soon as that write is settled.
                if (_write is null && !_filling.Batch.IsEmpty)
                {
                    StartWrite();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        if (_crash.IsCancellationRequested)
        {
            // The crash token rolled a write in progress back; wait for it so that nothing outlives the consumer.
            if (_write is not null)
            {
                await _write.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            return;
        }

        // Shutting down: finish the write in progress and store what was read, then leave the group so the
        // partitions move on at once.
        await SettleAsync(consumer);
        if (!_filling.Batch.IsEmpty)
        {
            StartWrite();
            await SettleAsync(consumer);
        }
        consumer.Close();
        progress.Assigned([]);
    }

    public override void Dispose()
    {
        _crash.Dispose();
        base.Dispose();
    }

    private ConsumeResult<Ignore, KafkaTelemetry>? Consume(IConsumer<Ignore, KafkaTelemetry> consumer, CancellationToken ct)
    {
        try
        {
            return consumer.Consume(TimeSpan.FromMilliseconds(20));
        }
        catch (ConsumeException ex) when (!ex.Error.IsFatal)
        {
            logger.LogWarning("Kafka consume error: {Reason}", ex.Error.Reason);
            ct.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            return null;
        }
    }

    private void Accept(ConsumeResult<Ignore, KafkaTelemetry> result)
    {
        var batch = _filling.Batch;
        if (batch.IsEmpty)
        {
            _filling.FlushBy = Environment.TickCount64 + (long)_options.FlushInterval.TotalMilliseconds;
        }

        var partition = result.Partition.Value;
        var offset = result.Offset.Value;
        // One lookup per message: the slot is written below, and nothing touches the dictionary in between.
        ref var next = ref CollectionsMarshal.GetValueRefOrAddDefault(_filling.NextOffsets, partition, out var seen);
        if (!seen && ExpectedOffset(partition) is { } from && offset > from + 1)
        {
            // Kafka moved us past offsets we never read (retention deleted them unread, or compaction): say so loudly.
            logger.LogWarning(
                "Partition {Topic}[{Partition}]: offsets {From}..{To} were not available and are skipped",
                _options.Topic, partition, from, offset - 1);
        }
        next = offset + 1;

        // Decoded inside Consume already (TelemetryDeserializer).
        var message = result.Message.Value;
        if (message.Decoded.IsValid)
        {
            batch.Add(message.Decoded);
        }
        else
        {
            batch.AddDeadLetter(DeadLetter.FromKafka(_options.Topic, partition, offset, message.RejectedPayload, message.Decoded.Error!, time.GetUtcNow()));
        }
    }

    /// <summary>Where the batch being filled starts reading a partition: after the batch in flight, or at the stored offset.</summary>
    private long? ExpectedOffset(int partition) =>
        _write is not null && _writing.NextOffsets.TryGetValue(partition, out var afterWrite)
            ? afterWrite
            : _storedOffsets.GetValueOrDefault(partition);

    /// <summary>Hands the filled batch to a background write and starts filling the other. Only with no write in flight.</summary>
    private void StartWrite()
    {
        Debug.Assert(_write is null, "one write at a time: the next one is fenced on the offsets the previous one stored");
        var batch = _filling;
        foreach (var (partition, next) in batch.NextOffsets)
        {
            batch.Advances.Add(new PartitionAdvance(partition, _storedOffsets.GetValueOrDefault(partition), next));
        }
        (_filling, _writing) = (_writing, batch);
        // On the thread pool, so that encoding the histograms overlaps reading too. Only a crash cancels it (rolled
        // back, as in a killed process); a graceful stop lets it commit.
        _write = Task.Run(() => writer.WriteAsync(batch.Batch, bootstrap.GroupId, _options.Topic, batch.Advances, _crash.Token));
    }

    private async Task SettleAsync(IConsumer<Ignore, KafkaTelemetry> consumer)
    {
        if (_write is not null)
        {
            // Settle reads the outcome from the task.
            await _write.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Settle(consumer);
        }
    }

    /// <summary>For the group callbacks, which are synchronous and run on the consume thread.</summary>
    private void SettleNow(IConsumer<Ignore, KafkaTelemetry> consumer)
    {
        if (_write is not null)
        {
            _write.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
            Settle(consumer);
        }
    }

    /// <summary>Takes the outcome of the finished write into account. On the loop only (or its callbacks).</summary>
    private void Settle(IConsumer<Ignore, KafkaTelemetry> consumer)
    {
        var write = _write!;
        var batch = _writing;
        _write = null;
        if (write.IsCompletedSuccessfully)
        {
            foreach (var advance in batch.Advances)
            {
                _storedOffsets[advance.Partition] = advance.Next;
                StoreOffsetForLagTools(consumer, advance);
            }
            progress.Stored(batch.Batch.MessageCount, batch.Batch.RequestCount, batch.Batch.DeadLetters.Count);
        }
        else
        {
            // Nothing of the batch was stored. Whatever the cause (fenced by another consumer, database away),
            // the safe next step is the same: read again from the offsets that are stored. The batch being filled
            // continues where the failed one stopped, so it goes too.
            logger.LogWarning(write.Exception?.GetBaseException(), "Batch of {Messages} messages not stored; rewinding to the stored offsets", batch.Batch.MessageCount);
            progress.Failed(write.Exception?.GetBaseException());
            _filling.Clear();
            _rewindNeeded = true;
        }
        batch.Clear();
    }

    private void StoreOffsetForLagTools(IConsumer<Ignore, KafkaTelemetry> consumer, PartitionAdvance advance)
    {
        try
        {
            // For lag tools only; resuming never depends on it.
            consumer.StoreOffset(new TopicPartitionOffset(_options.Topic, advance.Partition, advance.Next));
        }
        catch (KafkaException ex)
        {
            // The batch is committed either way; a partition librdkafka no longer holds just keeps its old lag.
            logger.LogDebug("Kafka offset {Partition}@{Offset} not stored for lag tools: {Reason}", advance.Partition, advance.Next, ex.Error.Reason);
        }
    }

    private async Task RewindAsync(IConsumer<Ignore, KafkaTelemetry> consumer, CancellationToken ct)
    {
        // Whatever set the flag settled the write already; the offsets read below must not move under us.
        Debug.Assert(_write is null, "no write in flight while rewinding");
        var stored = await LoadStoredOffsetsAsync(ct);
        foreach (var partition in consumer.Assignment)
        {
            var offset = stored.TryGetValue(partition.Partition.Value, out var next) ? next : (long?)null;
            _storedOffsets[partition.Partition.Value] = offset;
            consumer.Seek(new TopicPartitionOffset(partition, offset is null ? Offset.Beginning : new Offset(offset.Value)));
        }
        _rewindNeeded = false;
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<Ignore, KafkaTelemetry> consumer, List<TopicPartition> partitions)
    {
        // Group callbacks are synchronous and run on the consume thread, which has nothing else to do meanwhile.
        // A write in flight holds none of these partitions (they were revoked, and so settled, or never ours).
        var stored = LoadStoredOffsetsAsync(CancellationToken.None).GetAwaiter().GetResult();
        var positions = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var partition in partitions)
        {
            long? offset = stored.TryGetValue(partition.Partition.Value, out var next) ? next : null;
            _storedOffsets[partition.Partition.Value] = offset;
            positions.Add(new TopicPartitionOffset(partition, offset is null ? Offset.Beginning : new Offset(offset.Value)));
        }
        logger.LogInformation("Assigned {Partitions}", string.Join(",", positions.Select(p => $"{p.Partition.Value}@{p.Offset}")));
        progress.Assigned(consumer.Assignment.Select(p => p.Partition.Value).Concat(partitions.Select(p => p.Partition.Value)).Distinct().ToArray());
        return positions;
    }

    private void OnRevoked(IConsumer<Ignore, KafkaTelemetry> consumer, List<TopicPartitionOffset> partitions)
    {
        // Store what was read from these partitions before their next owner reads the stored offsets: first the
        // batch in flight, then the one being filled (dropped instead if the first one failed).
        SettleNow(consumer);
        if (!_filling.Batch.IsEmpty)
        {
            StartWrite();
            SettleNow(consumer);
        }
        Forget(consumer, partitions);
        logger.LogInformation("Revoked {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnLost(IConsumer<Ignore, KafkaTelemetry> consumer, List<TopicPartitionOffset> partitions)
    {
        // Someone else may own these already: storing the batch being filled could only lose the race, so drop it
        // and re-read whatever is still ours from the stored offsets. A write already in flight cannot be called
        // back; it commits before the new owner stores anything or the fence rejects it. Wait for it, so that the
        // rewind reads offsets that no longer move.
        SettleNow(consumer);
        _filling.Clear();
        Forget(consumer, partitions);
        _rewindNeeded = true;
        logger.LogWarning("Lost {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void Forget(IConsumer<Ignore, KafkaTelemetry> consumer, List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            _storedOffsets.Remove(partition.Partition.Value);
        }
        progress.Assigned(consumer.Assignment.Select(p => p.Partition.Value).Except(partitions.Select(p => p.Partition.Value)).ToArray());
    }

    private Task<Dictionary<int, long>> LoadStoredOffsetsAsync(CancellationToken ct) =>
        _untilDatabaseAnswers.ExecuteAsync(async token =>
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(token);
            return await StoredKafkaOffsets.LoadAsync(connection, store.Options.DatabaseSchemaName, bootstrap.GroupId, _options.Topic, token);
        }, ct).AsTask();

    /// <summary>One of the two batches that take turns: filled by the loop, then written in the background.</summary>
    private sealed class PendingBatch
    {
        public IngestBatch Batch { get; } = new();

        // Per partition present in the batch: the offset after its last message.
        public Dictionary<int, long> NextOffsets { get; } = [];

        // Set when the batch is handed to the writer: where each partition starts (the stored offset) and ends.
        public List<PartitionAdvance> Advances { get; } = [];

        // When it is due at the latest, in Environment.TickCount64 milliseconds: the loop reads the clock once per
        // message, and this coarse one costs a fraction of Stopwatch's.
        public long FlushBy { get; set; }

        public void Clear()
        {
            Batch.Clear();
            NextOffsets.Clear();
            Advances.Clear();
        }
    }
}
