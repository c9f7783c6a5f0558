using JasperFx.Events.Projections;
using MaestroSla.EventStore;
using Marten;

namespace MaestroSla.Projections.Latency;

/// <summary>
/// Refuses a store whose latency rollups were projected with another shard count. The rollups only ever add what
/// their events bring, and progress is kept per shard name: shards under new names would start from the first event
/// and fold everything a second time on top of the documents the old shards wrote.
/// </summary>
public static class RollupShardCheck
{
    public static async Task EnsureMatchesAsync(IDocumentStore store, CancellationToken ct)
    {
        var configured = store.Options.Events.Projections()
            .Where(p => LatencyRollupShards.IsShard(p.Name))
            .SelectMany(p => p.ShardNames())
            .Select(s => s.Identity)
            .ToHashSet(StringComparer.Ordinal);
        var schema = store.Options.Events.DatabaseSchemaName;
        await using var session = store.QuerySession();
        var stored = await EventStoreQueries.ProgressedShardsAsync(session, LatencyRollupShards.BaseName, ct);
        var foreign = stored.Where(name => !configured.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (foreign.Count > 0)
        {
            throw new InvalidOperationException(
                $"The latency rollups in schema {schema} were projected by {string.Join(", ", foreign)}, but this node is configured with " +
                $"{configured.Count} shard(s) (Projections:RollupShards): new shards would count every request again. Use the count " +
                "they were built with, or restore a backup into a new database with the new count (the restore rebuilds the rollups).");
        }
    }
}
