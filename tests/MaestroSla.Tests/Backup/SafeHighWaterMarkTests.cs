using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Restoring;
using MaestroSla.Contracts.Events;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Services;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// Sequence numbers are taken at insert and seen at commit: a backup must never go past a number an append in
/// flight may still commit, or the next incremental (which starts above it) would lose that event for good.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class SafeHighWaterMarkTests(ServicesFixture services)
{
    [Fact]
    public async Task a_backup_stops_below_an_append_in_flight_and_the_next_one_picks_it_up()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        using var target = await TestTarget.CreateAsync(services, TargetKinds.Folder);
        var store = harness.Store;
        await AppendAsync(store, "a-stream");                       // 1, committed

        // X appends, Y appends and stays open, X appends again and commits: 1, 2 and 4 are visible, 3 is not.
        await using var x = await OpenTransactionAsync(store);
        await AppendAsync(store, "x-stream", x.Transaction);        // 2
        await using var y = await OpenTransactionAsync(store);
        await AppendAsync(store, "y-stream", y.Transaction);        // 3, in flight
        await AppendAsync(store, "x-stream", x.Transaction);        // 4
        await x.Transaction.CommitAsync();
        (await Sequences(harness.ConnectionString)).ShouldBe([1, 2, 4]);

        var backup = new EventLogBackup(store, target.Target, new BackupOptions(), TimeProvider.System);
        var first = await backup.RunAsync(BackupType.Full, "test", default);
        first.SequenceTo.ShouldBe(1, "not past the hole at 3, and not between X's two events either");
        first.Events.ShouldBe(1);

        await y.Transaction.CommitAsync();
        var second = await backup.RunAsync(BackupType.Incremental, "test", default);
        second.SequenceFrom.ShouldBe(1);
        second.SequenceTo.ShouldBe(4);
        second.Events.ShouldBe(3);

        var restored = await services.CreateDatabaseAsync();
        await Restore(store, target).RestoreAsync(new RestoreRequest(null, null, restored), "test", default);
        (await Sequences(restored)).ShouldBe([1, 2, 3, 4]);
    }

    [Fact]
    public async Task a_hole_left_by_a_rolled_back_append_holds_a_backup_until_it_is_old_enough_to_be_settled()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        using var target = await TestTarget.CreateAsync(services, TargetKinds.Folder);
        var store = harness.Store;
        await AppendAsync(store, "a-stream");                       // 1
        await using (var rolledBack = await OpenTransactionAsync(store))
        {
            await AppendAsync(store, "r-stream", rolledBack.Transaction); // 2, never committed
            await rolledBack.Transaction.RollbackAsync();
        }
        await AppendAsync(store, "b-stream");                       // 3

        var cautious = await new EventLogBackup(store, target.Target, new BackupOptions(), TimeProvider.System).RunAsync(BackupType.Full, "test", default);
        cautious.SequenceTo.ShouldBe(1, "a fresh hole may still be an append in flight");

        var settled = await new EventLogBackup(store, target.Target, new BackupOptions { DeadGapAfter = TimeSpan.Zero }, TimeProvider.System)
            .RunAsync(BackupType.Incremental, "test", default);
        settled.SequenceTo.ShouldBe(3);
        settled.Events.ShouldBe(1);

        var restored = await services.CreateDatabaseAsync();
        await Restore(store, target).RestoreAsync(new RestoreRequest(null, null, restored), "test", default);
        (await Sequences(restored)).ShouldBe([1, 3]);
        // New appends in the restored store continue after the end of the chain.
        await using var restoredStore = BackupScenario.OpenStore(restored);
        await AppendAsync(restoredStore, "a-stream");
        (await Sequences(restored)).ShouldBe([1, 3, 4]);
    }

    private static EventLogRestore Restore(DocumentStore store, TestTarget target) =>
        new(store, target.Target, cs => MaestroStore.Configure(new StoreOptions(), cs), new BackupOptions(), TimeProvider.System);

    private static async Task AppendAsync(DocumentStore store, string stream, NpgsqlTransaction? transaction = null)
    {
        await using var session = transaction is null ? store.LightweightSession() : store.LightweightSession(SessionOptions.ForTransaction(transaction));
        var now = DateTimeOffset.UtcNow;
        session.Events.Append(stream, new DowntimeRecorded(stream, now.AddMinutes(-5), now, "test"));
        await session.SaveChangesAsync();
    }

    private sealed class OpenTransaction(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public NpgsqlTransaction Transaction { get; } = transaction;

        public async ValueTask DisposeAsync()
        {
            await Transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    private static async Task<OpenTransaction> OpenTransactionAsync(DocumentStore store)
    {
        var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync();
        return new OpenTransaction(connection, await connection.BeginTransactionAsync());
    }

    private static async Task<List<long>> Sequences(string connectionString) =>
        (await BackupScenario.RowsAsync(connectionString, "select seq_id from maestro.mt_events order by seq_id")).Select(long.Parse).ToList();
}
