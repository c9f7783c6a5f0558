using System.Net;
using System.Net.Http.Json;
using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Replicating;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Backup;

[Collection(SharedServices.Name)]
public sealed class BackupReplicationTests(ServicesFixture services)
{
    [Theory]
    [InlineData(TargetKinds.Folder, TargetKinds.S3)]
    [InlineData(TargetKinds.S3, TargetKinds.Folder)]
    public async Task a_replicated_copy_validates_on_the_second_target(string primary, string replica)
    {
        using var second = await TestTarget.CreateAsync(services, replica);
        await using var scenario = await BackupScenario.StartAsync(services, primary, segmentEvents: 30, settings: second.Settings("Backup:Replica"));
        await scenario.IngestRoundAsync(0);
        var full = await scenario.BackupAsync(BackupType.Full);
        await scenario.IngestRoundAsync(1);
        var incremental = await scenario.BackupAsync(BackupType.Incremental);

        var response = await scenario.Client.PostAsync($"/api/admin/backups/{incremental.BackupId}/replicate", null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var result = (await response.Content.ReadFromJsonAsync<ReplicationResult>(BackupScenario.Json))!;
        result.Copied.ShouldBe([full.BackupId!, incremental.BackupId!], "the chain the backup needs goes with it");
        result.Validation.Valid.ShouldBeTrue();
        result.BytesCopied.ShouldBe(full.Bytes + incremental.Bytes);

        // Checked on the second target on its own, down to every event.
        var validation = await new BackupValidator(second.Target).ValidateAsync(incremental.BackupId!, replay: true, default);
        validation.Valid.ShouldBeTrue(string.Join("; ", validation.Problems));
        validation.Chain.ShouldBe([full.BackupId!, incremental.BackupId!]);
        validation.EventsReplayed.ShouldBe(full.Events + incremental.Events);
        foreach (var set in validation.Chain)
        {
            (await second.Target.ListObjectsAsync(set, default)).ShouldBe(await scenario.Target.Target.ListObjectsAsync(set, default));
        }

        var again = await new BackupReplicator(scenario.Target.Target, second.Target).ReplicateAsync(incremental.BackupId!, default);
        again.Copied.ShouldBeEmpty();
        again.AlreadyThere.ShouldBe([full.BackupId!, incremental.BackupId!]);

        // The copy restores the same event log.
        var restored = await services.CreateDatabaseAsync();
        var fromReplica = new EventLogRestore(scenario.Store, second.Target, cs => MaestroStore.Configure(new StoreOptions(), cs), new BackupOptions(), TimeProvider.System);
        await fromReplica.RestoreAsync(new RestoreRequest(null, null, restored), "test", default);
        (await BackupScenario.RowsAsync(restored, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(scenario.Harness.ConnectionString, BackupScenario.EventRows + " order by seq_id"));
    }
}
