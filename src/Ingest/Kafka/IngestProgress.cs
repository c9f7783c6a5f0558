namespace MaestroSla.Ingest.Kafka;

/// <summary>What this process's consumer has stored so far and which partitions it owns (for status and probes).</summary>
public sealed class IngestProgress
{
    private long _messages;
    private long _requests;
    private long _deadLetters;
    private long _batches;
    private long _lostMessages;
    private volatile int[] _assignedPartitions = [];

    public long StoredMessages => Interlocked.Read(ref _messages);
    public long StoredRequests => Interlocked.Read(ref _requests);
    public long StoredDeadLetters => Interlocked.Read(ref _deadLetters);
    public long StoredBatches => Interlocked.Read(ref _batches);

    /// <summary>Messages the broker deleted before this process could read them (see IngestGapDetected).</summary>
    public long LostMessages => Interlocked.Read(ref _lostMessages);
    public IReadOnlyList<int> AssignedPartitions => _assignedPartitions;

    internal void Stored(long messages, long requests, long deadLetters)
    {
        Interlocked.Add(ref _messages, messages);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _deadLetters, deadLetters);
        Interlocked.Increment(ref _batches);
    }

    internal void Lost(long messages) => Interlocked.Add(ref _lostMessages, messages);

    internal void Assigned(int[] partitions)
    {
        Array.Sort(partitions);
        _assignedPartitions = partitions;
    }
}
