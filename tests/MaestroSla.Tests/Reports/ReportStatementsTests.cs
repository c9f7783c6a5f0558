using MaestroSla.Api.Store;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>
/// How a live report reaches PostgreSQL: one batch whose first statement is the projections' progress, and statements
/// prepared on the connection once they repeat.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class ReportStatementsTests(ServicesFixture services)
{
    private static readonly DateTimeOffset Month = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task a_live_reports_sequence_is_the_slowest_projections_read_in_its_own_batch()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString, rollupShards: 2));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        (await ReportAsync(store)).ComputedAtSequence.ShouldBe(0, "no projection has started");
        await ProjectionProgress.SetAsync(connectionString, ("latency_rollups_0:All", 50), ("latency_rollups_1:All", 40), ("uptime_signals:All", 60), ("ingest_gaps:All", 70));
        (await ReportAsync(store)).ComputedAtSequence.ShouldBe(40);
        await ProjectionProgress.SetAsync(connectionString, ("latency_rollups_1:All", 90), ("ingest_gaps:All", 45));
        (await ReportAsync(store)).ComputedAtSequence.ShouldBe(45);
    }

    [Fact]
    public void the_store_prepares_repeated_statements_unless_the_connection_string_decides()
    {
        new NpgsqlConnectionStringBuilder(MaestroStore.WithAutoPrepare("Host=db;Database=sla")).MaxAutoPrepare.ShouldBe(MaestroStore.AutoPreparedStatements);
        new NpgsqlConnectionStringBuilder(MaestroStore.WithAutoPrepare("Host=db;Database=sla")).AutoPrepareMinUsages.ShouldBe(2);
        // Behind a pooler without prepared statements an operator turns it off; a chosen size is kept too.
        MaestroStore.WithAutoPrepare("Host=db;Max Auto Prepare=0").ShouldBe("Host=db;Max Auto Prepare=0");
        MaestroStore.WithAutoPrepare("Host=db;maxautoprepare=5").ShouldBe("Host=db;maxautoprepare=5");
    }

    [Fact]
    public async Task repeated_reports_run_prepared_statements_on_the_connection()
    {
        // One pooled connection, so every report runs on the backend asked afterwards.
        var connectionString = new NpgsqlConnectionStringBuilder(await services.CreateDatabaseAsync()) { MaxPoolSize = 1 }.ConnectionString;
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        for (var i = 0; i < 3; i++)
        {
            await ReportAsync(store);
        }
        await using var session = store.QuerySession();
        var prepared = await session.AdvancedSql.QueryAsync<string>("select statement from pg_prepared_statements", CancellationToken.None);
        prepared.ShouldContain(s => s.Contains("mt_doc_latencyrollup", StringComparison.Ordinal), string.Join("\n", prepared));
        prepared.ShouldContain(s => s.Contains("mt_event_progression", StringComparison.Ordinal), string.Join("\n", prepared));
    }

    private static async Task<MaestroSla.Contracts.Reports.SlaReport> ReportAsync(DocumentStore store)
    {
        await using var session = store.QuerySession();
        return await SlaReportBuilder.BuildAsync(session, new SlaOptions(), "checkout", Month, Month.AddMonths(1), "UTC", null, CancellationToken.None);
    }
}
