using System.Threading.Channels;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest.Http;

/// <summary>Configuration section "Ingest:Http".</summary>
public sealed class HttpIngestOptions
{
    public const string Section = "Ingest:Http";

    /// <summary>Messages accepted and waiting to be stored, at most; past it requests are answered 503 with Retry-After.</summary>
    public int MaxPendingMessages { get; set; } = 500_000;

    /// <summary>Messages stored in one transaction, at most (several requests' batches go together).</summary>
    public int MaxMessagesPerWrite { get; set; } = 200_000;

    /// <summary>Transactions in flight at once per process; each holds an HTTP slot (see <see cref="IngestWriteOptions.HttpSlots"/>).</summary>
    public int Writers { get; set; } = 2;

    /// <summary>A batch still waiting after this long is answered 503 with Retry-After and never stored.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>What 503 answers tell clients to wait before retrying.</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>How an HTTP batch ended: stored, or refused (nothing of it stored) and worth retrying later.</summary>
public enum HttpIngestOutcome
{
    Stored,
    Overloaded,
    TimedOut,
    StoreUnavailable,

    /// <summary>Not stored: its Idempotency-Key was stored with another request (a retry of it, or a reuse).</summary>
    KeyAlreadyStored,
}

/// <summary>
/// Group commit for HTTP ingest: concurrent requests' batches wait here and are stored together, a few transactions
/// at a time, so that many clients cost a few large transactions instead of many small ones competing for rows and
/// connections. Each request learns the outcome of the transaction its batch went into. When the queue is full, or a
/// batch waited too long, or the store fails, the request is refused as retryable (503 with Retry-After) and nothing
/// of its batch is stored: a client can always retry without creating duplicates.
/// </summary>
public sealed class HttpGroupCommit(
    IngestBatchWriter writer, IDocumentStore store, IOptions<HttpIngestOptions> options, IOptions<IdempotencyOptions> idempotency,
    ILogger<HttpGroupCommit> logger) : BackgroundService
{
    private readonly HttpIngestOptions _options = options.Value;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    private long _pendingMessages;

    public HttpIngestOptions Options => _options;

    public Task<HttpIngestOutcome> StoreAsync(IngestBatch batch, CancellationToken ct) => StoreAsync(batch, key: null, ct);

    /// <param name="key">Recorded in the transaction that stores the batch; with it, the batch is stored only if the key was not.</param>
    public async Task<HttpIngestOutcome> StoreAsync(IngestBatch batch, IdempotencyRecord? key, CancellationToken ct)
    {
        var messages = batch.MessageCount;
        var queued = Interlocked.Add(ref _pendingMessages, messages);
        if (queued > _options.MaxPendingMessages && queued != messages)
        {
            // Full. (A batch larger than the whole queue is still let in when the queue is empty, or it could never
            // be stored.)
            Interlocked.Add(ref _pendingMessages, -messages);
            return HttpIngestOutcome.Overloaded;
        }
        var pending = new Pending(batch, key);
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Add(ref _pendingMessages, -messages);
            return HttpIngestOutcome.Overloaded;
        }

        var finished = await Task.WhenAny(pending.Outcome.Task, Task.Delay(_options.QueueTimeout, ct)).ConfigureAwait(false);
        if (finished != pending.Outcome.Task && pending.TryAbandon())
        {
            // Never taken by a writer: it will be skipped, and nothing of it is stored.
            Interlocked.Add(ref _pendingMessages, -messages);
            return HttpIngestOutcome.TimedOut;
        }
        // Taken by a writer (or done): its transaction decides, whether or not the client still waits.
        return await pending.Outcome.Task.ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Math.Max(1, _options.Writers))
            .Select(_ => Task.Run(() => WriteLoopAsync(stoppingToken), stoppingToken))
            .Append(Task.Run(() => FollowCatalogAsync(stoppingToken), stoppingToken)));

    /// <summary>
    /// The endpoint limit counts what every process stored: learn the catalogue at start and every minute after,
    /// so an API-only replica does not admit a service's endpoints afresh.
    /// </summary>
    private async Task FollowCatalogAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        do
        {
            try
            {
                await using var connection = store.Storage.Database.CreateConnection();
                await connection.OpenAsync(stoppingToken);
                await writer.Catalog.LoadAsync(connection, store.Options.DatabaseSchemaName, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Series catalogue not loaded; HTTP ingest counts endpoints from what it has seen");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    private async Task WriteLoopAsync(CancellationToken stoppingToken)
    {
        var group = new List<Pending>();
        var sameKeyAsAnother = new List<Pending>();
        var keys = new List<IdempotencyRecord>();
        var keyed = new HashSet<(string, string)>();
        var combined = new IngestBatch();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var messages = 0;
                while (messages < _options.MaxMessagesPerWrite && _queue.Reader.TryRead(out var pending))
                {
                    if (!pending.TryTake())
                    {
                        continue;
                    }
                    messages += pending.Batch.MessageCount;
                    if (pending.Key is { } key && !keyed.Add((key.Scope, key.Key)))
                    {
                        // A retry sent while the first send still waits: it learns the first one's outcome.
                        sameKeyAsAnother.Add(pending);
                        continue;
                    }
                    group.Add(pending);
                }
                if (group.Count == 0)
                {
                    continue;
                }

                var outcome = HttpIngestOutcome.Stored;
                while (group.Count > 0)
                {
                    try
                    {
                        var batch = group[0].Batch;
                        if (group.Count > 1)
                        {
                            combined.Clear();
                            foreach (var pending in group)
                            {
                                combined.MergeFrom(pending.Batch);
                            }
                            batch = combined;
                        }
                        keys.Clear();
                        foreach (var pending in group)
                        {
                            if (pending.Key is not null)
                            {
                                keys.Add(pending.Key);
                            }
                        }
                        // Not cancelled by shutdown: a write that started is finished, so every waiting request learns
                        // the truth.
                        await writer.WriteAsync(batch, keys, idempotency.Value.KeyLifetime, CancellationToken.None);
                        outcome = HttpIngestOutcome.Stored;
                        break;
                    }
                    catch (IdempotencyKeysTakenException taken)
                    {
                        // Those requests were stored before (or are a reuse of a key): they leave the group, and the
                        // others are written again without them.
                        var takenKeys = taken.Taken.ToHashSet();
                        for (var i = group.Count - 1; i >= 0; i--)
                        {
                            if (group[i].Key is { } key && takenKeys.Contains((key.Scope, key.Key)))
                            {
                                group[i].Outcome.TrySetResult(HttpIngestOutcome.KeyAlreadyStored);
                                group.RemoveAt(i);
                            }
                        }
                        outcome = HttpIngestOutcome.KeyAlreadyStored;
                    }
                    catch (Exception ex)
                    {
                        logger.LogWarning(ex, "HTTP ingest of {Requests} batches ({Messages} messages) not stored; answered as retryable", group.Count, messages);
                        outcome = HttpIngestOutcome.StoreUnavailable;
                        break;
                    }
                }
                Interlocked.Add(ref _pendingMessages, -messages);
                foreach (var pending in group)
                {
                    pending.Outcome.TrySetResult(outcome);
                }
                foreach (var pending in sameKeyAsAnother)
                {
                    // Their key is stored exactly when the first send's group was (or was already before).
                    pending.Outcome.TrySetResult(outcome is HttpIngestOutcome.Stored or HttpIngestOutcome.KeyAlreadyStored
                        ? HttpIngestOutcome.KeyAlreadyStored
                        : outcome);
                }
                group.Clear();
                sameKeyAsAnother.Clear();
                keyed.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        // Shutting down: what is still queued was never taken, so it is refused as retryable.
        while (_queue.Reader.TryRead(out var pending))
        {
            if (pending.TryTake())
            {
                Interlocked.Add(ref _pendingMessages, -pending.Batch.MessageCount);
                pending.Outcome.TrySetResult(HttpIngestOutcome.StoreUnavailable);
            }
        }
    }

    private sealed class Pending(IngestBatch batch, IdempotencyRecord? key)
    {
        private const int Waiting = 0, Taken = 1, Abandoned = 2;
        private int _state;

        public IngestBatch Batch { get; } = batch;

        public IdempotencyRecord? Key { get; } = key;

        public TaskCompletionSource<HttpIngestOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Waiting) == Waiting;

        public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Waiting) == Waiting;
    }
}
