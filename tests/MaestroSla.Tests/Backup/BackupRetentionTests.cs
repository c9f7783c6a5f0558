using System.Net;
using System.Net.Http.Json;
using MaestroSla.Backup;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Retention;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Shouldly;

namespace MaestroSla.Tests.Backup;

[Collection(SharedServices.Name)]
public sealed class BackupRetentionTests(ServicesFixture services)
{
    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task retention_keeps_every_chain_it_leaves_restorable(string kind)
    {
        await using var scenario = await BackupScenario.StartAsync(services, kind, segmentEvents: 40);
        var target = scenario.Target.Target;

        // Two generations: A (full, incrementals, a differential), then B (full, an incremental, a differential
        // and an incremental on top of it), and an interrupted set.
        await scenario.IngestRoundAsync(0);
        var a = await scenario.BackupAsync(BackupType.Full);
        var a1 = await scenario.BackupAsync(BackupType.Incremental);
        await scenario.IngestRoundAsync(1);
        var a2 = await scenario.BackupAsync(BackupType.Incremental);
        var ad = await scenario.BackupAsync(BackupType.Differential);
        var b = await scenario.BackupAsync(BackupType.Full);
        var b1 = await scenario.BackupAsync(BackupType.Incremental);
        await scenario.IngestRoundAsync(2);
        var bd = await scenario.BackupAsync(BackupType.Differential);
        var b2 = await scenario.BackupAsync(BackupType.Incremental);
        a2.ParentId.ShouldBe(a1.BackupId);
        ad.ParentId.ShouldBe(a.BackupId);
        bd.ParentId.ShouldBe(b.BackupId);
        b2.ParentId.ShouldBe(bd.BackupId);
        var crashing = new CrashingTarget(target) { CrashOnManifest = true };
        await Should.ThrowAsync<IOException>(() => new EventLogBackup(scenario.Store, crashing, new BackupOptions(), TimeProvider.System).RunAsync(BackupType.Incremental, "test", default));

        // Keep the newest two: they need B, nothing of generation A, and not B1 (no kept backup builds on it).
        var response = await scenario.Client.PostAsync("/api/admin/backups/retention?keepCount=2", null);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var byCount = (await response.Content.ReadFromJsonAsync<RetentionResult>(BackupScenario.Json))!;
        byCount.Kept.ShouldBe([b2.BackupId!, bd.BackupId!]);
        byCount.KeptForChains.ShouldBe([b.BackupId!]);
        byCount.Deleted.ShouldBe([b1.BackupId!, ad.BackupId!, a2.BackupId!, a1.BackupId!, a.BackupId!], ignoreOrder: true);
        byCount.IncompleteDeleted.ShouldBeEmpty("an interrupted set may still be being written");
        await EveryRemainingBackupValidatesAsync(target, [b.BackupId!, bd.BackupId!, b2.BackupId!]);

        // By age, a month later: nothing is young enough, yet the newest chain stays; the interrupted set goes.
        var later = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(30));
        var byAge = await new BackupRetention(target, later).ApplyAsync(keepDays: 7, keepCount: null, default);
        byAge.Kept.ShouldBe([b2.BackupId!]);
        byAge.Deleted.ShouldBeEmpty();
        byAge.IncompleteDeleted.ShouldBe([crashing.SetId!]);
        (await target.ListSetsAsync(default)).ShouldBe(new[] { b.BackupId!, bd.BackupId!, b2.BackupId! }.Order(StringComparer.Ordinal).ToList());
        await EveryRemainingBackupValidatesAsync(target, [b.BackupId!, bd.BackupId!, b2.BackupId!]);

        // And what is left restores all of it.
        var restored = await services.CreateDatabaseAsync();
        await scenario.RestoreAsync(b2.BackupId, null, restored);
        (await BackupScenario.RowsAsync(restored, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(scenario.Harness.ConnectionString, BackupScenario.EventRows + " order by seq_id"));
    }

    private static async Task EveryRemainingBackupValidatesAsync(MaestroSla.Backup.Targets.IBackupTarget target, IReadOnlyList<string> expected)
    {
        var catalog = await BackupCatalog.LoadAsync(target, default);
        catalog.Entries.Where(e => e.Complete).Select(e => e.Id).ShouldBe(expected, ignoreOrder: true);
        var validator = new BackupValidator(target);
        foreach (var id in expected)
        {
            var validation = await validator.ValidateAsync(catalog, id, replay: true, default);
            validation.Valid.ShouldBeTrue(string.Join("; ", validation.Problems));
        }
    }
}
