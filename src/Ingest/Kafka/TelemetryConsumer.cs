using System.Diagnostics;
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
    private readonly IngestBatch _batch = new();

    // Per assigned partition: the offset stored in PostgreSQL (null: none yet), i.e. what the next flush expects.
    private readonly Dictionary<int, long?> _storedOffsets = [];

    // Per partition present in the current batch: the offset after its last message.
    private readonly Dictionary<int, long> _batchNextOffsets = [];

    private readonly Stopwatch _batchAge = new();

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
    /// Models a crash for the tests: the loop stops with neither a final flush nor leaving the group, and the
    /// Kafka client is disposed without Close(), as when the process dies.
    /// </summary>
    internal void SimulateCrash() => _crash.Cancel();

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, _crash.Token);
        var ct = linked.Token;
        using var consumer = new ConsumerBuilder<Ignore, byte[]?>(_options.ToConsumerConfig(bootstrap.BootstrapServers, bootstrap.GroupId))
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
                if (result?.Message is not null)
                {
                    Accept(result);
                }

                // Store when the batch is full, old enough, or when there is nothing more to read right now:
                // under load batches grow up to the limits, while a quiet topic is stored at once.
                var caughtUp = result is null;
                if (!_batch.IsEmpty && (caughtUp || _batch.MessageCount >= _options.MaxBatchMessages || _batchAge.Elapsed >= _options.FlushInterval))
                {
                    await FlushAsync(consumer, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        if (_crash.IsCancellationRequested)
        {
            return;
        }

        // Shutting down: store what was read, then leave the group so the partitions move on at once.
        if (!_batch.IsEmpty)
        {
            await FlushAsync(consumer, CancellationToken.None);
        }
        consumer.Close();
        progress.Assigned([]);
    }

    public override void Dispose()
    {
        _crash.Dispose();
        base.Dispose();
    }

    private ConsumeResult<Ignore, byte[]?>? Consume(IConsumer<Ignore, byte[]?> consumer, CancellationToken ct)
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

    private void Accept(ConsumeResult<Ignore, byte[]?> result)
    {
        if (_batch.IsEmpty)
        {
            _batchAge.Restart();
        }

        var partition = result.Partition.Value;
        if (!_batchNextOffsets.ContainsKey(partition)
            && _storedOffsets.TryGetValue(partition, out var expected) && expected is { } from && result.Offset.Value > from + 1)
        {
            // Kafka moved us past offsets we never read (retention deleted them unread, or compaction): say so loudly.
            logger.LogWarning(
                "Partition {Topic}[{Partition}]: offsets {From}..{To} were not available and are skipped",
                result.Topic, partition, from, result.Offset.Value - 1);
        }

        var payload = result.Message.Value;
        var decoded = decoder.Decode(payload);
        if (decoded.IsValid)
        {
            _batch.Add(decoded);
        }
        else
        {
            _batch.AddDeadLetter(DeadLetter.FromKafka(result.Topic, result.Partition.Value, result.Offset.Value, payload, decoded.Error!, time.GetUtcNow()));
        }
        _batchNextOffsets[result.Partition.Value] = result.Offset.Value + 1;
    }

    private async Task FlushAsync(IConsumer<Ignore, byte[]?> consumer, CancellationToken ct)
    {
        var advances = new List<PartitionAdvance>(_batchNextOffsets.Count);
        foreach (var (partition, next) in _batchNextOffsets)
        {
            advances.Add(new PartitionAdvance(partition, _storedOffsets.GetValueOrDefault(partition), next));
        }

        var requests = _batch.RequestCount;
        var messages = _batch.MessageCount;
        var deadLetters = _batch.DeadLetters.Count;
        try
        {
            await writer.WriteAsync(_batch, bootstrap.GroupId, _options.Topic, advances, ct);
            foreach (var advance in advances)
            {
                _storedOffsets[advance.Partition] = advance.Next;
                // For lag tools only; resuming never depends on it.
                consumer.StoreOffset(new TopicPartitionOffset(_options.Topic, advance.Partition, advance.Next));
            }
            progress.Stored(messages, requests, deadLetters);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Nothing of the batch was stored. Whatever the cause (fenced by another consumer, database away),
            // the safe next step is the same: read again from the offsets that are stored.
            logger.LogWarning(ex, "Batch of {Messages} messages not stored; rewinding to the stored offsets", messages);
            _rewindNeeded = true;
        }
        finally
        {
            _batch.Clear();
            _batchNextOffsets.Clear();
        }
    }

    private async Task RewindAsync(IConsumer<Ignore, byte[]?> consumer, CancellationToken ct)
    {
        var stored = await LoadStoredOffsetsAsync(ct);
        foreach (var partition in consumer.Assignment)
        {
            var offset = stored.TryGetValue(partition.Partition.Value, out var next) ? next : (long?)null;
            _storedOffsets[partition.Partition.Value] = offset;
            consumer.Seek(new TopicPartitionOffset(partition, offset is null ? Offset.Beginning : new Offset(offset.Value)));
        }
        _rewindNeeded = false;
    }

    private IEnumerable<TopicPartitionOffset> OnAssigned(IConsumer<Ignore, byte[]?> consumer, List<TopicPartition> partitions)
    {
        // Group callbacks are synchronous and run on the consume thread, which has nothing else to do meanwhile.
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

    private void OnRevoked(IConsumer<Ignore, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Store what was read from these partitions before their next owner reads the stored offsets.
        if (!_batch.IsEmpty)
        {
            FlushAsync(consumer, CancellationToken.None).GetAwaiter().GetResult();
        }
        Forget(consumer, partitions);
        logger.LogInformation("Revoked {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void OnLost(IConsumer<Ignore, byte[]?> consumer, List<TopicPartitionOffset> partitions)
    {
        // Someone else may own these already: storing now could only lose the race, so drop the batch and
        // re-read whatever is still ours from the stored offsets.
        _batch.Clear();
        _batchNextOffsets.Clear();
        Forget(consumer, partitions);
        _rewindNeeded = true;
        logger.LogWarning("Lost {Partitions}", string.Join(",", partitions.Select(p => p.Partition.Value)));
    }

    private void Forget(IConsumer<Ignore, byte[]?> consumer, List<TopicPartitionOffset> partitions)
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
}
