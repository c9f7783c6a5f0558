using System.Diagnostics;
using System.Runtime.InteropServices;
using Confluent.Kafka;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace MaestroSla.Ingest.Kafka;

/// <summary>
/// Reads one topic as a member of a consumer group and stores each batch exactly once: the batch's events and the
/// partitions' next offsets commit in one PostgreSQL transaction, and every (re)assigned partition resumes from the
/// offset stored there. Invalid messages become dead letters in the same transaction. What a message holds is the
/// subclass's business (<see cref="Accept"/>): one telemetry record (<see cref="TelemetryConsumer"/>) or many (an
/// OTLP export); the bookkeeping of offsets, held minutes and dead letters is per record and lives here.
/// </summary>
/// <typeparam name="TValue">A message as the subclass's deserializer decodes it, inside Consume.</typeparam>
/// <typeparam name="TTally">What the subclass counts per batch, reported once the batch is stored (<see cref="OnStored"/>).</typeparam>
/// <remarks>
/// <para>Two batches take turns: while one is written in the background, the loop keeps reading into the other, so
/// consuming does not stop while PostgreSQL commits. At most one write is in flight, and the next batch is
/// handed over only after it committed, so each write is fenced on offsets that are stored, never on hopes.</para>
/// <para>Requests of minutes still open stay in memory from batch to batch and are stored once their minute has
/// ended (<see cref="KafkaIngestOptions.HoldOpenMinutes"/>): a series' minute is one event, whatever the flush rate.
/// Each partition's row says where its held requests start (see <see cref="StoredKafkaOffsets"/>); whoever resumes
/// the partition reads again from there and, below the stored read position, keeps only those requests. Until such
/// a partition has been read up to its stored position, nothing is stored (the row could not say what is held).</para>
/// </remarks>
public abstract class KafkaIngestConsumer<TValue, TTally>(
    KafkaIngestOptions options,
    string topic,
    string groupId,
    KafkaBootstrap bootstrap,
    IDocumentStore store,
    IngestBatchWriter writer,
    IngestProgress progress,
    TimeProvider time,
    ILogger logger) : BackgroundService
    where TTally : struct
{
    private readonly KafkaIngestOptions _options = options;

    /// <summary>The topic this consumer reads.</summary>
    protected string Topic { get; } = topic;

    /// <summary>The clock dead letters are stamped with.</summary>
    protected TimeProvider Time { get; } = time;

    // The batch the loop reads into, and the one written by _write (or idle when _write is null).
    private PendingBatch _filling = new(writer.Catalog);
    private PendingBatch _writing = new(writer.Catalog);
    private Task? _write;

    // Per assigned partition: the read position committed in PostgreSQL (null: none yet). Only the loop and the group
    // callbacks (which run inside Consume, on the loop) touch it, and only after a write is settled.
    private readonly Dictionary<int, long?> _storedOffsets = [];

    // Per assigned partition: the offset the next message read should have; a jump past it may be lost input.
    private readonly Dictionary<int, long> _readPositions = [];

    // Per assigned partition: when its row was last stored (the start of what a gap found next may have lost).
    private readonly Dictionary<int, DateTimeOffset> _lastStoredAt = [];

    // Per partition being read again after resuming below its stored read position: that stored row.
    private readonly Dictionary<int, StoredPosition> _replaying = [];

    // Per partition, per open minute held in memory: the first offset of that minute's requests from the partition.
    private readonly Dictionary<int, Dictionary<long, long>> _open = [];
    private long _earliestOpenMinute = long.MaxValue;

    // Minutes before this one (see IngestBatch.MinuteOf) have ended, grace included; refreshed a few times a second.
    private long _closedBeforeMinute;
    private long _clockReadAt = long.MinValue;

    // The newest request timestamp read (UTC ticks), and whether the last poll found nothing to read.
    private long _newestRequestTicks;
    private bool _caughtUp;

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
        using var consumer = new ConsumerBuilder<Ignore, TValue>(_options.ToConsumerConfig(bootstrap.BootstrapServers, groupId))
            .SetValueDeserializer(CreateDeserializer())
            .SetPartitionsAssignedHandler(OnAssigned)
            .SetPartitionsRevokedHandler(OnRevoked)
            .SetPartitionsLostHandler(OnLost)
            .SetErrorHandler((_, error) => logger.LogWarning("Kafka: {Reason}", error.Reason))
            .Build();
        consumer.Subscribe(Topic);
        logger.LogInformation("Ingest consuming {Topic} on {Servers} as group {Group}", Topic, bootstrap.BootstrapServers, groupId);

        try
        {
            while (!ct.IsCancellationRequested)
            {
                if (_rewindNeeded)
                {
                    await RewindAsync(consumer, ct);
                }

                RefreshClock();
                var result = Consume(consumer, ct);
                _caughtUp = result is null;
                // A group callback inside Consume may have asked for a rewind; then this message is read again.
                if (_rewindNeeded)
                {
                    continue;
                }
                if (result?.Message is not null)
                {
                    Accept(consumer, result);
                }

                // Settle a finished write at once: stored offsets, Kafka's lag offsets and progress follow the commit.
                if (_write is { IsCompleted: true })
                {
                    Settle(consumer);
                }

                // Nothing can be stored while a resumed partition is read again up to its stored position.
                if (_replaying.Count > 0)
                {
                    continue;
                }

                // Store when the batch is full, old enough, or when there is nothing more to read right now, as long
                // as it holds something to store beyond open minutes; and whenever a held minute has ended. Under load
                // batches grow up to the limits, while a quiet topic is stored at once.
                var full = _filling.NewMessages >= _options.MaxBatchMessages;
                var minuteEnded = _earliestOpenMinute < _closedBeforeMinute;
                var due = minuteEnded
                    || (_filling.HasClosedContent && (full || result is null || Environment.TickCount64 >= _filling.FlushBy));
                if (!due)
                {
                    continue;
                }
                if (_write is not null && full)
                {
                    // The only wait on the database under load: a full batch while the previous one still commits.
                    await SettleAsync(consumer);
                }
                // Otherwise, with a write in flight, keep reading: the batch goes as soon as that write is settled.
                if (_write is null)
                {
                    StartWrite(closeAll: false);
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

        // Shutting down: finish the write in progress and store what was read, open minutes included, then leave
        // the group so the partitions move on at once. (While a partition is read again, nothing can be stored; its
        // next owner reads it again too.)
        await SettleAsync(consumer);
        if (_replaying.Count == 0 && !_rewindNeeded && !_filling.IsEmpty)
        {
            StartWrite(closeAll: true);
            await SettleAsync(consumer);
        }
        consumer.Close();
        progress.Assigned([]);
    }

    public override void Dispose()
    {
        _crash.Dispose();
        base.Dispose();
        GC.SuppressFinalize(this);
    }

    private ConsumeResult<Ignore, TValue>? Consume(IConsumer<Ignore, TValue> consumer, CancellationToken ct)
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

    /// <summary>Creates the deserializer that decodes each message inside Consume, on the loop's thread.</summary>
    protected abstract IDeserializer<TValue> CreateDeserializer();

    /// <summary>
    /// Takes one message in: <see cref="BeginMessage"/> first, then <see cref="AddRecord"/> for each record it holds
    /// and <see cref="AddDeadLetter"/> for what cannot be taken.
    /// </summary>
    protected abstract void Accept(IConsumer<Ignore, TValue> consumer, ConsumeResult<Ignore, TValue> result);

    /// <summary>What the subclass counts in the batch being filled (reset when a batch is stored or dropped).</summary>
    protected ref TTally Tally => ref _filling.Tally;

    /// <summary>A batch was committed: its tally may now be reported (a batch not stored is read again and counted then).</summary>
    protected virtual void OnStored(in TTally tally)
    {
    }

    /// <summary>
    /// The per-message bookkeeping, before any of its records: the partition's read position (a jump past it may be
    /// lost input), the batch's read position, and whether the message lies below the stored read position of a
    /// partition being read again. Then the stored row is returned: only records it says are still open
    /// (<see cref="StoredPosition.IsStillOpen"/>) are to be added, and no dead letter (it was stored before).
    /// </summary>
    protected StoredPosition? BeginMessage(IConsumer<Ignore, TValue> consumer, int partition, long offset)
    {
        ref var position = ref CollectionsMarshal.GetValueRefOrAddDefault(_readPositions, partition, out var known);
        if (offset > position || (!known && offset > 0))
        {
            DetectGap(consumer, partition, known ? position : 0);
        }
        position = offset + 1;
        _filling.NextOffsets[partition] = offset + 1;

        if (_replaying.Count > 0 && _replaying.TryGetValue(partition, out var stored))
        {
            if (offset + 1 >= stored.Next)
            {
                _replaying.Remove(partition);
            }
            if (offset < stored.Next)
            {
                // Messages read again were counted when they were first stored.
                return stored;
            }
        }
        _filling.NewMessages++;
        return null;
    }

    /// <summary>A message or part of one that cannot be taken, kept with its reason in the batch's transaction.</summary>
    protected void AddDeadLetter(int partition, long offset, byte[]? payload, string reason)
    {
        _filling.Batch.AddDeadLetter(DeadLetter.FromKafka(Topic, partition, offset, payload, reason, Time.GetUtcNow()));
        MarkClosedContent();
    }

    /// <summary>Adds one valid record of the message at <paramref name="offset"/>, holding it in memory while its minute is open.</summary>
    protected void AddRecord(int partition, long offset, in DecodedMessage record)
    {
        _filling.Batch.Add(record);
        if (record.Kind != MessageKind.Request)
        {
            MarkClosedContent();
            return;
        }
        var requestTicks = record.Request.Timestamp.UtcTicks;
        if (requestTicks > _newestRequestTicks)
        {
            _newestRequestTicks = requestTicks;
        }
        var minute = IngestBatch.MinuteOf(record.Request.Timestamp);
        if (minute < _closedBeforeMinute || !_options.HoldOpenMinutes)
        {
            MarkClosedContent();
            return;
        }
        // An open minute: remember where this partition's share of it starts, so a resume can read it again.
        ref var minutes = ref CollectionsMarshal.GetValueRefOrAddDefault(_open, partition, out _);
        minutes ??= [];
        minutes.TryAdd(minute, offset);
        if (minute < _earliestOpenMinute)
        {
            _earliestOpenMinute = minute;
        }
    }

    /// <summary>
    /// The batch now holds something to store beyond open minutes: it is due within the flush interval. Also for a
    /// message whose records all were passed over, so that its read position is stored rather than read again.
    /// </summary>
    protected void MarkClosedContent()
    {
        if (!_filling.HasClosedContent)
        {
            _filling.HasClosedContent = true;
            _filling.FlushBy = Environment.TickCount64 + (long)_options.FlushInterval.TotalMilliseconds;
        }
    }

    /// <summary>
    /// A partition's next message is past where reading should have gone on. If the broker no longer has the
    /// offsets in between (its low watermark passed them), they were deleted unread: record the gap with the next
    /// batch. Otherwise the offsets held no data (transaction markers, compaction). Such jumps are rare, so the
    /// broker is asked each time rather than trusting a cached low watermark.
    /// </summary>
    private void DetectGap(IConsumer<Ignore, TValue> consumer, int partition, long expected)
    {
        WatermarkOffsets watermarks;
        try
        {
            watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, partition), TimeSpan.FromSeconds(5));
        }
        catch (KafkaException ex)
        {
            logger.LogWarning("Partition {Topic}[{Partition}]: offsets from {From} were skipped and the broker's low watermark is unknown ({Reason})",
                Topic, partition, expected, ex.Error.Reason);
            return;
        }
        var low = watermarks.Low.Value;
        if (low <= expected)
        {
            return;
        }
        DateTimeOffset? lastStoredAt = _lastStoredAt.TryGetValue(partition, out var at) ? at : null;
        var gap = new IngestGapDetected(Topic, partition, expected, low - 1, low - expected, lastStoredAt, Time.GetUtcNow());
        _filling.Gaps.Add(gap);
        MarkClosedContent();
        logger.LogError(
            "Lost input: partition {Topic}[{Partition}] offsets {From}..{To} ({Count} messages) were deleted by the broker before ingest read them",
            Topic, partition, gap.FirstMissingOffset, gap.LastMissingOffset, gap.Count);
    }

    /// <summary>
    /// Minutes end by the clock of the traffic: the wall clock while the consumer keeps up (or has nothing to read),
    /// the newest request read while it is behind. Otherwise a consumer minutes behind would find every minute it reads
    /// ended and store one event per series and batch — more writes exactly when it can least afford them.
    /// </summary>
    private void RefreshClock()
    {
        var ticks = Environment.TickCount64;
        if (ticks < _clockReadAt + 200)
        {
            return;
        }
        _clockReadAt = ticks;
        if (!_options.HoldOpenMinutes)
        {
            _closedBeforeMinute = long.MaxValue;
            return;
        }
        if (!_caughtUp && _newestRequestTicks == 0)
        {
            // Nothing read yet and the topic not drained: there is no traffic clock, so no minute has ended; what the
            // first poll brings is held until the next refresh (200 ms later) says which minutes ended.
            return;
        }
        var now = Time.GetUtcNow();
        var trafficNow = _caughtUp ? now : new DateTimeOffset(Math.Min(now.UtcTicks, _newestRequestTicks), TimeSpan.Zero);
        // Never backwards: a request taken as ended when it was read must still be ended when its batch is stored
        // (else it would be held without its offset remembered), and a partition's stored C only grows.
        _closedBeforeMinute = Math.Max(_closedBeforeMinute, IngestBatch.MinuteOf(trafficNow - _options.OpenMinuteGrace));
    }

    /// <summary>
    /// Hands the filled batch to a background write and starts filling the other, taking the minutes still open
    /// along (all of them stored instead with <paramref name="closeAll"/>). Only with no write in flight and no
    /// partition being read again.
    /// </summary>
    private void StartWrite(bool closeAll)
    {
        Debug.Assert(_write is null, "one write at a time: the next one is fenced on the offsets the previous one stored");
        Debug.Assert(_replaying.Count == 0, "a partition read again cannot be described by its row until it is read up to it");
        RefreshClock();
        var closedBefore = closeAll ? long.MaxValue : _closedBeforeMinute;
        var batch = _filling;
        (_filling, _writing) = (_writing, batch);
        if (!closeAll)
        {
            batch.Batch.MoveMinutesTo(_filling.Batch, closedBefore);
        }

        // Partitions whose row changes: those read into this batch, and those whose held minutes are stored now.
        var partitions = new HashSet<int>(batch.NextOffsets.Keys);
        _earliestOpenMinute = long.MaxValue;
        foreach (var (partition, minutes) in _open)
        {
            foreach (var minute in minutes.Keys)
            {
                if (minute < closedBefore)
                {
                    minutes.Remove(minute);
                    partitions.Add(partition);
                }
                else if (minute < _earliestOpenMinute)
                {
                    _earliestOpenMinute = minute;
                }
            }
        }
        var closedBeforeInstant = closedBefore == long.MaxValue ? (DateTimeOffset?)null : new DateTimeOffset(closedBefore * TimeSpan.TicksPerMinute, TimeSpan.Zero);
        // In partition order, so that two writers that both claim some partitions (a zombie and the new owner) lock
        // their rows in the same order and one simply waits for the other.
        foreach (var partition in partitions.Order())
        {
            var expected = _storedOffsets.GetValueOrDefault(partition);
            var next = batch.NextOffsets.TryGetValue(partition, out var read) ? read : expected!.Value;
            var resume = _open.TryGetValue(partition, out var minutes) && minutes.Count > 0 ? Math.Min(minutes.Values.Min(), next) : next;
            batch.Advances.Add(new PartitionAdvance(partition, expected, next, resume, resume < next ? closedBeforeInstant : null));
        }
        if (batch.IsEmpty)
        {
            // Nothing to store after all: nothing was read since the last batch and no held minute ended.
            batch.Clear();
            return;
        }
        // On the thread pool, so that encoding the histograms overlaps reading too. Only a crash cancels it (rolled
        // back, as in a killed process); a graceful stop lets it commit.
        _write = Task.Run(() => writer.WriteAsync(batch.Batch, groupId, Topic, batch.Advances, batch.Gaps, _crash.Token));
    }

    private async Task SettleAsync(IConsumer<Ignore, TValue> consumer)
    {
        if (_write is not null)
        {
            // Settle reads the outcome from the task.
            await _write.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Settle(consumer);
        }
    }

    /// <summary>For the group callbacks, which are synchronous and run on the consume thread.</summary>
    private void SettleNow(IConsumer<Ignore, TValue> consumer)
    {
        if (_write is not null)
        {
            _write.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
            Settle(consumer);
        }
    }

    /// <summary>Takes the outcome of the finished write into account. On the loop only (or its callbacks).</summary>
    private void Settle(IConsumer<Ignore, TValue> consumer)
    {
        var write = _write!;
        var batch = _writing;
        _write = null;
        if (write.IsCompletedSuccessfully)
        {
            var storedAt = Time.GetUtcNow();
            foreach (var advance in batch.Advances)
            {
                _storedOffsets[advance.Partition] = advance.Next;
                _lastStoredAt[advance.Partition] = storedAt;
                StoreOffsetForLagTools(consumer, advance);
            }
            progress.Stored(batch.NewMessages, batch.Batch.RequestCount, batch.Batch.DeadLetters.Count);
            OnStored(in batch.Tally);
            foreach (var gap in batch.Gaps)
            {
                progress.Lost(gap.Count);
            }
        }
        else
        {
            // Nothing of the batch was stored. Whatever the cause (fenced by another consumer, database away),
            // the safe next step is the same: read again from the offsets that are stored. The batch being filled
            // continues where the failed one stopped, so it goes too.
            logger.LogWarning(write.Exception?.GetBaseException(), "Batch of {Messages} messages not stored; rewinding to the stored offsets", batch.Batch.MessageCount);
            progress.Failed(write.Exception?.GetBaseException());
            DropUnstored();
            _rewindNeeded = true;
        }
        batch.Clear();
    }

    private void StoreOffsetForLagTools(IConsumer<Ignore, TValue> consumer, PartitionAdvance advance)
    {
        try
        {
            // For lag tools only; resuming never depends on it. What is held in memory still counts as lag.
            consumer.StoreOffset(new TopicPartitionOffset(Topic, advance.Partition, advance.Resume));
        }
        catch (KafkaException ex)
        {
            // The batch is committed either way; a partition librdkafka no longer holds just keeps its old lag.
            logger.LogDebug("Kafka offset {Partition}@{Offset} not stored for lag tools: {Reason}", advance.Partition, advance.Resume, ex.Error.Reason);
        }
    }

    private async Task RewindAsync(IConsumer<Ignore, TValue> consumer, CancellationToken ct)
    {
        // Whatever set the flag settled the write already; the offsets read below must not move under us.
        Debug.Assert(_write is null, "no write in flight while rewinding");
        var stored = await LoadStoredOffsetsAsync(ct);
        foreach (var partition in consumer.Assignment)
        {
            consumer.Seek(ResumeAt(consumer, partition, stored));
        }
        _rewindNeeded = false;
    }

    /// <summary>Where a partition resumes, from its stored row; notes what is to be read again below the stored read position.</summary>
    private TopicPartitionOffset ResumeAt(IConsumer<Ignore, TValue> consumer, TopicPartition partition, Dictionary<int, StoredPosition> stored)
    {
        var number = partition.Partition.Value;
        _replaying.Remove(number);
        if (!stored.TryGetValue(number, out var position))
        {
            _storedOffsets[number] = null;
            _readPositions.Remove(number);
            _lastStoredAt.Remove(number);
            return new TopicPartitionOffset(partition, Offset.Beginning);
        }
        _storedOffsets[number] = position.Next;
        _readPositions[number] = position.Resume;
        _lastStoredAt[number] = position.UpdatedAt;
        if (position.Resume < position.Next && !AllDeletedBelow(consumer, partition, position.Next))
        {
            _replaying[number] = position;
        }
        return new TopicPartitionOffset(partition, new Offset(position.Resume));
    }

    /// <summary>Whether the broker kept nothing below <paramref name="next"/> (then there is nothing to read again).</summary>
    private static bool AllDeletedBelow(IConsumer<Ignore, TValue> consumer, TopicPartition partition, long next)
    {
        try
        {
            return consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(5)).Low.Value >= next;
        }
        catch (KafkaException)
        {
            return false;
        }
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<Ignore, TValue> consumer, List<TopicPartition> partitions)
    {
        // Group callbacks are synchronous and run on the consume thread, which has nothing else to do meanwhile.
        // A write in flight holds none of these partitions (they were revoked, and so settled, or never ours).
        var stored = LoadStoredOffsetsAsync(CancellationToken.None).GetAwaiter().GetResult();
        // Endpoints and customers other instances admitted, so that the limits decide replayed requests as they did.
        LoadCatalogAsync(CancellationToken.None).GetAwaiter().GetResult();
        var positions = partitions.Select(partition => ResumeAt(consumer, partition, stored)).ToList();
        logger.LogInformation("Assigned {Partitions}", string.Join(",", positions.Select(p => $"{p.Partition.Value}@{p.Offset}")));
        progress.Assigned(consumer.Assignment.Select(p => p.Partition.Value).Concat(partitions.Select(p => p.Partition.Value)).Distinct().ToArray());
        return positions;
    }

    private void OnRevoked(IConsumer<Ignore, TValue> consumer, List<TopicPartitionOffset> partitions)
    {
        // Store what was read from these partitions before their next owner reads the stored offsets: first the
        // batch in flight, then the one being filled, open minutes included (dropped instead if the first one
        // failed, or while a partition is read again: then the stored rows still say what to read again).
        SettleNow(consumer);
        if (_replaying.Count > 0)
        {
            DropUnstored();
            _rewindNeeded = true;
        }
        else if (!_rewindNeeded && !_filling.IsEmpty)
        {
            StartWrite(closeAll: true);
            SettleNow(consumer);
        }
        Forget(consumer, partitions);
        logger.LogInformation("Revoked {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnLost(IConsumer<Ignore, TValue> consumer, List<TopicPartitionOffset> partitions)
    {
        // Someone else may own these already: storing the batch being filled could only lose the race, so drop it
        // and re-read whatever is still ours from the stored offsets. A write already in flight cannot be called
        // back; it commits before the new owner stores anything or the fence rejects it. Wait for it, so that the
        // rewind reads offsets that no longer move.
        SettleNow(consumer);
        DropUnstored();
        Forget(consumer, partitions);
        _rewindNeeded = true;
        logger.LogWarning("Lost {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    /// <summary>Forgets everything read and not stored, open minutes included: it is read again from the stored rows.</summary>
    private void DropUnstored()
    {
        _filling.Clear();
        _open.Clear();
        _earliestOpenMinute = long.MaxValue;
        _replaying.Clear();
    }

    private void Forget(IConsumer<Ignore, TValue> consumer, List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            _storedOffsets.Remove(partition.Partition.Value);
            _readPositions.Remove(partition.Partition.Value);
            _replaying.Remove(partition.Partition.Value);
            _lastStoredAt.Remove(partition.Partition.Value);
        }
        progress.Assigned(consumer.Assignment.Select(p => p.Partition.Value).Except(partitions.Select(p => p.Partition.Value)).ToArray());
    }

    private Task<Dictionary<int, StoredPosition>> LoadStoredOffsetsAsync(CancellationToken ct) =>
        _untilDatabaseAnswers.ExecuteAsync(async token =>
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(token);
            return await StoredKafkaOffsets.LoadAsync(connection, store.Options.DatabaseSchemaName, groupId, Topic, token);
        }, ct).AsTask();

    private Task LoadCatalogAsync(CancellationToken ct) =>
        _untilDatabaseAnswers.ExecuteAsync(async token =>
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(token);
            await writer.Catalog.LoadAsync(connection, store.Options.DatabaseSchemaName, token);
        }, ct).AsTask();

    /// <summary>One of the two batches that take turns: filled by the loop, then written in the background.</summary>
    private sealed class PendingBatch(SeriesCatalog catalog)
    {
        public IngestBatch Batch { get; } = new(catalog);

        // Per partition present in the batch: the offset after its last message.
        public Dictionary<int, long> NextOffsets { get; } = [];

        // Set when the batch is handed to the writer: per partition, where it stood and where it stands after.
        public List<PartitionAdvance> Advances { get; } = [];

        public List<IngestGapDetected> Gaps { get; } = [];

        // Messages read for the first time (not again after a resume), for progress.
        public long NewMessages { get; set; }

        // Whether the batch holds anything to store now: requests of ended minutes, downtime, health, dead letters.
        public bool HasClosedContent { get; set; }

        // When it is due at the latest, in Environment.TickCount64 milliseconds: the loop reads the clock once per
        // message, and this coarse one costs a fraction of Stopwatch's.
        public long FlushBy { get; set; }

        // The subclass's counts of this batch (see Tally).
        public TTally Tally;

        public bool IsEmpty => Advances.Count == 0 && NextOffsets.Count == 0 && Gaps.Count == 0 && !Batch.HasEvents && Batch.DeadLetters.Count == 0;

        public void Clear()
        {
            Batch.Clear();
            NextOffsets.Clear();
            Advances.Clear();
            Gaps.Clear();
            NewMessages = 0;
            HasClosedContent = false;
            Tally = default;
        }
    }
}
