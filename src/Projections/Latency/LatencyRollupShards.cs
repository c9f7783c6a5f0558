using System.IO.Hashing;
using System.Text;

namespace MaestroSla.Projections.Latency;

/// <summary>
/// The latency rollups are folded by <see cref="Count"/> async projections, latency_rollups_0 … latency_rollups_{K-1},
/// each owning the services whose name hashes to its index. They are separate projections, so the daemon — or
/// Wolverine's projection distribution across nodes — runs each on its own, and each keeps its own progress. A service
/// always lands in the same shard, so every rollup document has exactly one writer.
/// </summary>
/// <remarks>
/// The hash is XxHash32 of the UTF-8 name, the same in every process and every release: string.GetHashCode is
/// randomised per process, so two nodes would disagree about who owns a service. Every node and every restore must
/// use the same count; <see cref="ProjectionsStoreConfiguration"/> refuses to start when the stored progress was
/// made with another one (the rollups would be folded again on top of themselves).
/// </remarks>
public sealed class LatencyRollupShards
{
    public const string BaseName = "latency_rollups";

    /// <summary>
    /// Two: two projection nodes can share the rollups, and the restore's rebuild of the benchmark month took as
    /// long as with one shard, while four took 1.23× as long (docs/benchmarks.md, "Rollup shards"): every shard
    /// reads and deserialises every request event, and the restore has little margin under its 60 s. Raise it to
    /// spread the rollups over more nodes.
    /// </summary>
    public const int DefaultCount = 2;

    /// <summary>More would mostly add reads: every shard reads every request event and keeps only its own.</summary>
    public const int MaxCount = 64;

    public LatencyRollupShards(int count)
    {
        if (count is < 1 or > MaxCount)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Projections:RollupShards must be between 1 and {MaxCount}");
        }
        Count = count;
    }

    public int Count { get; }

    public static string NameOf(int index) => $"{BaseName}_{index}";

    /// <summary>Whether a projection name is one of the rollup shards (of any count).</summary>
    public static bool IsShard(string projectionName) =>
        projectionName.Length > BaseName.Length + 1
        && projectionName.StartsWith(BaseName, StringComparison.Ordinal)
        && projectionName[BaseName.Length] == '_'
        && int.TryParse(projectionName.AsSpan(BaseName.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _);

    public int IndexOf(string service) => Count == 1 ? 0 : (int)(Hash(service) % (uint)Count);

    /// <summary>XxHash32 of the UTF-8 name; names are at most 200 characters, so the bytes fit on the stack.</summary>
    public static uint Hash(string service)
    {
        var length = Encoding.UTF8.GetMaxByteCount(service.Length);
        Span<byte> bytes = length <= 1024 ? stackalloc byte[1024] : new byte[length];
        var written = Encoding.UTF8.GetBytes(service, bytes);
        return XxHash32.HashToUInt32(bytes[..written]);
    }
}
