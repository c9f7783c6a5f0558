using MaestroSla.Ingest.Storage;
using Npgsql;

namespace MaestroSla.Bench.Phases;

/// <summary>
/// The next offset a consumer has stored, per partition: what paces the producer (by the slowest partition, since the
/// mock broker drops a partition's oldest data past ~5 MiB whether it was read or not) and shows how evenly the
/// consumer serves its partitions.
/// </summary>
internal sealed class PartitionProgress(int partitions)
{
    private readonly long[] _next = new long[partitions];

    public long Slowest
    {
        get
        {
            var slowest = long.MaxValue;
            for (var p = 0; p < _next.Length; p++)
            {
                slowest = Math.Min(slowest, Volatile.Read(ref _next[p]));
            }
            return slowest;
        }
    }

    public long Fastest
    {
        get
        {
            var fastest = 0L;
            for (var p = 0; p < _next.Length; p++)
            {
                fastest = Math.Max(fastest, Volatile.Read(ref _next[p]));
            }
            return fastest;
        }
    }

    public void Stored(int partition, long next) => Volatile.Write(ref _next[partition], next);

    /// <summary>
    /// Follows MaestroSla's stored offsets table (written in the same transaction as the events) until cancelled,
    /// reading it every <paramref name="interval"/>.
    /// </summary>
    public async Task FollowStoredOffsetsAsync(
        string connectionString, string schema, string group, string topic, TimeSpan interval, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var (partition, position) in await StoredKafkaOffsets.LoadAsync(connection, schema, group, topic, ct))
                {
                    Stored(partition, position.Resume);
                }
                await Task.Delay(interval, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
