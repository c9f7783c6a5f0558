using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Targets;
using MaestroSla.EventStore;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Projections;

/// <summary>The one module that queries Marten's own tables, against a real store.</summary>
[Collection(SharedServices.Name)]
public sealed class EventStoreQueriesTests(ServicesFixture services)
{
    private static readonly DateTimeOffset At = new(2026, 11, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task services_come_from_ingest_streams_and_pre_slot_streams_and_never_from_targets_alerts_or_tombstones()
    {
        await using var store = await NewStoreAsync();
        await using (var session = store.LightweightSession())
        {
            session.Events.Append(IngestStreams.For("checkout", IngestStreams.KafkaSlot("t", 0)), Down("checkout"));
            session.Events.Append(IngestStreams.For("checkout", IngestStreams.HttpSlot(3)), Down("checkout"));
            session.Events.Append(IngestStreams.For("check", IngestStreams.KafkaSlot("t", 1)), Down("check"));
            session.Events.Append("legacy", Down("legacy")); // written before slots: keyed by the service alone
            session.Events.Append(SlaTargetStreams.For("configured-only"), new SlaTargetsSet("configured-only", new SlaTargets()));
            await session.SaveChangesAsync();
        }

        await using var query = store.QuerySession();
        (await EventStoreQueries.ServicesAsync(query, CancellationToken.None)).ShouldBe(["check", "checkout", "legacy"]);
        // "check" is a prefix of "checkout" the name, never of its keys.
        (await EventStoreQueries.ServiceStreamKeysAsync(query, "checkout", CancellationToken.None)).Order(StringComparer.Ordinal)
            .ShouldBe(["checkout|ingest|http:3", "checkout|ingest|kafka:t:0"]);
        (await EventStoreQueries.ServiceStreamKeysAsync(query, "legacy", CancellationToken.None)).ShouldBe(["legacy"]);
        (await EventStoreQueries.StreamKeysStartingWithAsync(query, SlaTargetStreams.For(""), CancellationToken.None)).ShouldBe(["targets|configured-only"]);
    }

    [Fact]
    public async Task progress_is_the_slowest_named_shards_and_a_shard_without_a_row_counts_as_not_started()
    {
        var (store, connectionString) = await NewDatabaseAsync();
        await using var disposeStore = store;
        await using (var session = store.LightweightSession())
        {
            for (var i = 0; i < 3; i++)
            {
                session.Events.Append(IngestStreams.For("svc", IngestStreams.HttpSlot(0)), Down("svc"));
            }
            await session.SaveChangesAsync();
        }
        await ProjectionProgress.SetAsync(connectionString, ("a_0:All", 3), ("a_1:All", 2), ("other:All", 1), ("b_0:All", 0));

        await using var query = store.QuerySession();
        (await EventStoreQueries.SlowestProgressAsync(query, ["a_0:All", "a_1:All"], CancellationToken.None)).ShouldBe(2);
        (await EventStoreQueries.SlowestProgressAsync(query, ["a_0:All", "missing:All"], CancellationToken.None)).ShouldBe(0);
        (await EventStoreQueries.SlowestProgressAndLastSequenceAsync(query, ["a_0:All"], CancellationToken.None)).ShouldBe((3L, 3L));
        (await EventStoreQueries.ProgressedShardsAsync(query, "a_", CancellationToken.None)).Order(StringComparer.Ordinal).ShouldBe(["a_0:All", "a_1:All"]);
        (await EventStoreQueries.ProgressedShardsAsync(query, "b_", CancellationToken.None)).ShouldBeEmpty("a row at 0 has applied nothing");

        (await EventStoreQueries.OldestUnprocessedAgeAsync(query, ["a_0:All"], CancellationToken.None)).ShouldBe(TimeSpan.Zero);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        (await EventStoreQueries.OldestUnprocessedAgeAsync(query, ["a_0:All", "a_1:All"], CancellationToken.None))
            .ShouldBeGreaterThan(TimeSpan.FromMilliseconds(250), "event 3 waits for a_1 since it was stored");
    }

    [Fact]
    public async Task an_empty_store_has_no_services_and_no_last_sequence()
    {
        await using var store = await NewStoreAsync();
        await using var query = store.QuerySession();
        (await EventStoreQueries.ServicesAsync(query, CancellationToken.None)).ShouldBeEmpty();
        (await EventStoreQueries.SlowestProgressAndLastSequenceAsync(query, ["a:All"], CancellationToken.None)).ShouldBe((0L, 0L));
        EventStoreQueries.EventsTable(store.Options).ShouldBe($"{MaestroStore.Schema}.mt_events");
    }

    [Fact]
    public async Task an_empty_series_catalogue_is_filled_from_the_telemetry_events_and_one_with_rows_is_left_as_it_is()
    {
        var (store, connectionString) = await NewDatabaseAsync();
        await using var disposeStore = store;
        await using (var session = store.LightweightSession())
        {
            // Appended directly, as a restore writes them: no catalogue rows come with them.
            var stream = IngestStreams.For("checkout", IngestStreams.HttpSlot(0));
            session.Events.Append(stream, Requests("checkout", "GET /a"), Requests("checkout", "GET /b"), Requests("checkout", "GET /a"));
            session.Events.Append(IngestStreams.For("status-page", IngestStreams.HttpSlot(0)), Down("status-page"));
            session.Events.Append(IngestStreams.For("search", IngestStreams.HttpSlot(0)), new HealthChecked("search", "db", HealthState.Healthy, 1.5, At));
            await session.SaveChangesAsync();
        }
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        await EventStoreQueries.FillSeriesCatalogAsync(connection, MaestroStore.Schema, CancellationToken.None);
        (await CatalogueAsync(connection)).ShouldBe(["checkout *", "checkout GET /a", "checkout GET /b", "search *", "status-page *"]);

        await using (var session = store.LightweightSession())
        {
            session.Events.Append(IngestStreams.For("late", IngestStreams.HttpSlot(0)), Requests("late", "GET /x"));
            await session.SaveChangesAsync();
        }
        await EventStoreQueries.FillSeriesCatalogAsync(connection, MaestroStore.Schema, CancellationToken.None);
        (await CatalogueAsync(connection)).Count.ShouldBe(5, "ingest writes the rows of new series itself once the catalogue has any");
    }

    private static Task<List<string>> CatalogueAsync(Npgsql.NpgsqlConnection connection) =>
        CatalogueRows.ReadAsync(connection, MaestroStore.Schema, SeriesCatalogTable.Name, "endpoint");

    private static RequestsRecorded Requests(string service, string endpoint) => new(service, endpoint, [new MinuteOfRequests(At, 3, 1, [])]);

    private static DowntimeRecorded Down(string service) => new(service, At, At.AddMinutes(1), "test");

    private async Task<DocumentStore> NewStoreAsync() => (await NewDatabaseAsync()).Store;

    private async Task<(DocumentStore Store, string ConnectionString)> NewDatabaseAsync()
    {
        var connectionString = await services.CreateDatabaseAsync();
        var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return (store, connectionString);
    }
}
