using JasperFx.Events.Projections;
using MaestroSla.Api.Store;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Collection(SharedServices.Name)]
public sealed class LatencyRollupShardsTests(ServicesFixture services)
{
    [Fact]
    public void the_hash_is_xxhash32_of_the_utf8_name_so_every_process_and_release_agrees()
    {
        // Reference vectors of XXH32 with seed 0: a change here would move services between shards.
        LatencyRollupShards.Hash("").ShouldBe(0x02CC5D05u);
        LatencyRollupShards.Hash("abc").ShouldBe(0x32D153FFu);
        LatencyRollupShards.Hash("café").ShouldBe(System.IO.Hashing.XxHash32.HashToUInt32("café"u8));
        new LatencyRollupShards(4).IndexOf("abc").ShouldBe((int)(0x32D153FFu % 4));
        new LatencyRollupShards(1).IndexOf("anything").ShouldBe(0);
    }

    [Fact]
    public void shard_names_are_recognised_and_counts_outside_one_to_sixty_four_are_refused()
    {
        LatencyRollupShards.IsShard("latency_rollups_0").ShouldBeTrue();
        LatencyRollupShards.IsShard("latency_rollups_12").ShouldBeTrue();
        LatencyRollupShards.IsShard("latency_rollups").ShouldBeFalse();
        LatencyRollupShards.IsShard("latency_rollups_").ShouldBeFalse();
        LatencyRollupShards.IsShard("latency_rollups_x").ShouldBeFalse();
        LatencyRollupShards.IsShard("uptime_signals").ShouldBeFalse();
        Should.Throw<ArgumentOutOfRangeException>(() => new LatencyRollupShards(0));
        Should.Throw<ArgumentOutOfRangeException>(() => new LatencyRollupShards(LatencyRollupShards.MaxCount + 1));
    }

    [Fact]
    public void a_store_has_one_async_projection_per_shard_and_reports_wait_for_all_of_them()
    {
        using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), "Host=127.0.0.1", rollupShards: 3));
        var names = ((IReadOnlyStoreOptions)store.Options).Events.Projections().Where(p => p.Lifecycle == ProjectionLifecycle.Async).Select(p => p.Name).Order().ToArray();
        names.ShouldBe(["ingest_gaps", "latency_rollups_0", "latency_rollups_1", "latency_rollups_2", "uptime_signals"]);
        ReportProjections.ShardIdentities(store.Options).Order().ShouldBe(["ingest_gaps:All", "latency_rollups_0:All", "latency_rollups_1:All", "latency_rollups_2:All", "uptime_signals:All"]);
        ReportProjections.LatencyShardIdentities(store.Options).Length.ShouldBe(3);
    }

    [Fact]
    public async Task report_progress_is_the_slowest_shards_and_a_store_projected_with_another_shard_count_is_refused()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString, rollupShards: 2));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await RollupShardCheck.EnsureMatchesAsync(store, CancellationToken.None);

        await ProjectionProgress.SetAsync(connectionString, ("latency_rollups_0:All", 50), ("latency_rollups_1:All", 40), ("uptime_signals:All", 60), ("ingest_gaps:All", 70));
        await using (var session = store.QuerySession())
        {
            (await ProgressAsync(session)).ShouldBe(40);
        }
        await RollupShardCheck.EnsureMatchesAsync(store, CancellationToken.None);

        // The same database seen with four shards: latency_rollups_2 and _3 would fold every event again.
        await using var four = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString, rollupShards: 4));
        await using (var session = four.QuerySession())
        {
            (await ProgressAsync(session)).ShouldBe(0);
        }
        // Progress a shard this count does not have (left by a four-shard configuration) means the rollups hold its folds.
        await ProjectionProgress.SetAsync(connectionString, ("latency_rollups_2:All", 30));
        var refused = await Should.ThrowAsync<InvalidOperationException>(() => RollupShardCheck.EnsureMatchesAsync(store, CancellationToken.None));
        refused.Message.ShouldContain("latency_rollups_2:All");
        refused.Message.ShouldContain("Projections:RollupShards");
    }

    private static async Task<long> ProgressAsync(IQuerySession session)
    {
        var batch = session.CreateBatchQuery();
        var progress = ReportProjections.Progress(batch, session.DocumentStore.Options);
        await batch.Execute();
        return await progress;
    }
}
