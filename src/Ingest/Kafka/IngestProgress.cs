using System.Collections.Concurrent;
using System.Net.Sockets;
using MaestroSla.Ingest.Storage;
using Npgsql;

namespace MaestroSla.Ingest.Kafka;

/// <summary>What a failed batch write left to tell: how many failed in a row, since when, and the last error.</summary>
public sealed record IngestFailureStreak(int Consecutive, DateTimeOffset Since, DateTimeOffset LastAt, string LastReason, string LastError);

/// <summary>
/// What this process's consumer has stored so far, which partitions it owns, and the batches it could not store
/// (for status, probes and metrics). Each counter is kept once here; metrics and health checks read it.
/// </summary>
public sealed class IngestProgress(TimeProvider time)
{
    /// <summary>A rebalance took the partition away while the batch was written: routine, not a storage failure.</summary>
    public const string FencedReason = "fenced";

    private const int MaxErrorLength = 300;

    private long _messages;
    private long _requests;
    private long _deadLetters;
    private long _batches;
    private long _lostMessages;
    private long _lastLostTicks;
    private long _lastStoredTicks;
    private volatile int[] _assignedPartitions = [];
    private readonly ConcurrentDictionary<string, long> _failuresByReason = new(StringComparer.Ordinal);
    private readonly Lock _streakLock = new();
    private IngestFailureStreak? _streak;

    public IngestProgress()
        : this(TimeProvider.System)
    {
    }

    /// <summary>When this progress began to be counted: "nothing stored for a while" counts from here at first.</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public long StoredMessages => Interlocked.Read(ref _messages);
    public long StoredRequests => Interlocked.Read(ref _requests);
    public long StoredDeadLetters => Interlocked.Read(ref _deadLetters);
    public long StoredBatches => Interlocked.Read(ref _batches);

    /// <summary>Messages the broker deleted before this process could read them (see IngestGapDetected).</summary>
    public long LostMessages => Interlocked.Read(ref _lostMessages);
    public IReadOnlyList<int> AssignedPartitions => _assignedPartitions;

    /// <summary>When the last batch was committed; null before the first.</summary>
    public DateTimeOffset? LastStoredAt => Interlocked.Read(ref _lastStoredTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>Batches not stored, per reason (see <see cref="ReasonOf"/>), since the process started.</summary>
    public IReadOnlyDictionary<string, long> FailuresByReason => _failuresByReason;

    /// <summary>The failures since the last stored batch; null while batches are stored.</summary>
    public IngestFailureStreak? FailureStreak
    {
        get
        {
            lock (_streakLock)
            {
                return _streak;
            }
        }
    }

    internal void Stored(long messages, long requests, long deadLetters)
    {
        Interlocked.Add(ref _messages, messages);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _deadLetters, deadLetters);
        Interlocked.Increment(ref _batches);
        Interlocked.Exchange(ref _lastStoredTicks, time.GetUtcNow().UtcTicks);
        lock (_streakLock)
        {
            _streak = null;
        }
    }

    /// <summary>
    /// A batch was not stored (its transaction rolled back). Counted by reason; every reason but a fence (another
    /// consumer owns the partition now, which a rebalance does routinely) extends the failure streak.
    /// </summary>
    public void Failed(Exception? error)
    {
        var reason = ReasonOf(error);
        _failuresByReason.AddOrUpdate(reason, 1, static (_, count) => count + 1);
        if (reason == FencedReason)
        {
            return;
        }
        var now = time.GetUtcNow();
        var description = Describe(error);
        lock (_streakLock)
        {
            _streak = _streak is { } streak
                ? streak with { Consecutive = streak.Consecutive + 1, LastAt = now, LastReason = reason, LastError = description }
                : new IngestFailureStreak(1, now, now, reason, description);
        }
    }

    /// <summary>When this process last recorded lost input; null if never.</summary>
    public DateTimeOffset? LastLostAt => Interlocked.Read(ref _lastLostTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    internal void Lost(long messages)
    {
        Interlocked.Add(ref _lostMessages, messages);
        Interlocked.Exchange(ref _lastLostTicks, time.GetUtcNow().UtcTicks);
    }

    internal void Assigned(int[] partitions)
    {
        Array.Sort(partitions);
        _assignedPartitions = partitions;
    }

    /// <summary>
    /// A short label with few possible values, fit for a metric label: the PostgreSQL SQLSTATE class
    /// ("postgres_53" insufficient resources, "postgres_40" serialization/deadlock, …), "postgres_unreachable"
    /// when no server answered, "fenced", "timeout", "cancelled" or "other".
    /// </summary>
    public static string ReasonOf(Exception? error) => Cause(error) switch
    {
        PartitionFencedException => FencedReason,
        PostgresException { SqlState.Length: 5 } postgres when IsAlphanumeric(postgres.SqlState.AsSpan(0, 2)) =>
            "postgres_" + postgres.SqlState[..2].ToLowerInvariant(),
        NpgsqlException { InnerException: TimeoutException } or TimeoutException => "timeout",
        NpgsqlException { InnerException: SocketException or IOException } => "postgres_unreachable",
        NpgsqlException => "postgres_other",
        OperationCanceledException => "cancelled",
        _ => "other",
    };

    /// <summary>
    /// The error for people: PostgreSQL's SQLSTATE and message text (never the connection string: Npgsql does not put
    /// it in messages, and PostgreSQL's texts name files and objects, not credentials), cut to a few hundred characters.
    /// </summary>
    public static string Describe(Exception? error)
    {
        var cause = Cause(error);
        var text = cause switch
        {
            null => "unknown error",
            PostgresException postgres => $"PostgreSQL {postgres.SqlState}: {postgres.MessageText}",
            NpgsqlException { InnerException: { } inner } npgsql => $"{npgsql.Message} ({inner.Message})",
            _ => $"{cause.GetType().Name}: {cause.Message}",
        };
        text = text.ReplaceLineEndings(" ");
        return text.Length <= MaxErrorLength ? text : text[..MaxErrorLength] + "…";
    }

    /// <summary>
    /// What actually failed: Marten wraps PostgreSQL's error (MartenCommandException, whose message is the whole
    /// SQL batch), and tasks wrap everything in AggregateException. The innermost database error if there is one.
    /// </summary>
    private static Exception? Cause(Exception? error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is NpgsqlException or PartitionFencedException)
            {
                return current;
            }
            if (current is AggregateException { InnerExceptions.Count: > 1 } aggregate)
            {
                return aggregate.InnerExceptions.Select(Cause).FirstOrDefault(c => c is NpgsqlException) ?? aggregate;
            }
        }
        return error is AggregateException { InnerExceptions.Count: 1 } single ? single.GetBaseException() : error;
    }

    private static bool IsAlphanumeric(ReadOnlySpan<char> characters)
    {
        foreach (var c in characters)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
