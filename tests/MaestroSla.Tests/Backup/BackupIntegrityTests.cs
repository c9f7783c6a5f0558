using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Api.Backups;
using MaestroSla.Backup;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>A backup that is not whole must never pass for one: not after bit rot, not after a crash.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupIntegrityTests(ServicesFixture services)
{
    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task a_flipped_byte_in_any_segment_fails_validation_and_restore_names_it_and_refuses(string kind)
    {
        await using var scenario = await BackupScenario.StartAsync(services, kind, segmentEvents: 15);
        await scenario.IngestRoundAsync(0);
        await scenario.BackupAsync(BackupType.Full);
        await scenario.IngestRoundAsync(1);
        var incremental = await scenario.BackupAsync(BackupType.Incremental);

        var target = scenario.Target.Target;
        var validator = new BackupValidator(target);
        var restore = scenario.App.App.Services.GetRequiredService<EventLogRestore>();
        (await validator.ValidateAsync(incremental.BackupId!, replay: true, default)).Valid.ShouldBeTrue();

        var catalog = await BackupCatalog.LoadAsync(target, default);
        var segments = catalog.ChainOf(incremental.BackupId!).Chain
            .SelectMany(m => m.Segments.Select(s => (Set: m.BackupId, s.Name)))
            .ToList();
        segments.Count.ShouldBeGreaterThan(4);
        var empty = await services.CreateDatabaseAsync();

        foreach (var (set, name) in segments)
        {
            var original = await ReadAllAsync(target, set, name);
            var flipped = original.ToArray();
            flipped[flipped.Length / 2] ^= 0x20;
            await target.PutBytesAsync(set, name, flipped, default);

            var validation = await validator.ValidateAsync(incremental.BackupId!, replay: false, default);
            validation.Valid.ShouldBeFalse();
            validation.BadSegments.ShouldBe([$"{set}/{name}"]);
            validation.Problems.Single().ShouldContain("SHA-256 mismatch");

            var refused = await Should.ThrowAsync<BackupCorruptException>(() => restore.RestoreAsync(new RestoreRequest(null, null, empty), "test", default));
            refused.BadSegments.ShouldBe([$"{set}/{name}"]);
            refused.Message.ShouldContain($"{set}/{name}");
            (await BackupScenario.CountAsync(empty, "select count(*) from pg_tables where schemaname = 'maestro'")).ShouldBe(0, "nothing may be written");

            await target.PutBytesAsync(set, name, original, default);
        }

        // Through the API: 422 with the bad segment named, and a validation that says which.
        var (firstSet, firstName) = segments[0];
        var bytes = await ReadAllAsync(target, firstSet, firstName);
        var broken = bytes.ToArray();
        broken[^10] ^= 0x01;
        await target.PutBytesAsync(firstSet, firstName, broken, default);
        var (status, body) = await scenario.PostRestoreAsync(null, null, empty);
        status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);
        JsonDocument.Parse(body).RootElement.GetProperty("badSegments").EnumerateArray().Select(e => e.GetString()).ShouldBe([$"{firstSet}/{firstName}"]);
        var viaApi = await (await scenario.Client.PostAsync($"/api/admin/backups/{incremental.BackupId}/validate", null)).Content.ReadFromJsonAsync<BackupValidation>(BackupScenario.Json);
        viaApi!.Valid.ShouldBeFalse();
        viaApi.BadSegments.ShouldBe([$"{firstSet}/{firstName}"]);
        (await BackupScenario.CountAsync(empty, "select count(*) from pg_tables where schemaname = 'maestro'")).ShouldBe(0);

        await target.PutBytesAsync(firstSet, firstName, bytes, default);
        (await validator.ValidateAsync(incremental.BackupId!, replay: true, default)).Valid.ShouldBeTrue();
        await scenario.RestoreAsync(null, null, empty);
        (await BackupScenario.CountAsync(empty, "select count(*) from maestro.mt_events"))
            .ShouldBe(await BackupScenario.CountAsync(scenario.Harness.ConnectionString, "select count(*) from maestro.mt_events"));
        var runs = await scenario.Client.GetFromJsonAsync<BackupRunList>("/api/admin/backups/runs", BackupScenario.Json);
        runs!.Restores.Count(r => r.Status == RunStatus.Failed).ShouldBe(segments.Count + 1);
    }

    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task an_interrupted_backup_leaves_nothing_that_lists_or_validates_as_complete(string kind)
    {
        await using var scenario = await BackupScenario.StartAsync(services, kind, segmentEvents: 15);
        await scenario.IngestRoundAsync(0);
        var full = await scenario.BackupAsync(BackupType.Full);
        await scenario.IngestRoundAsync(1);
        var target = scenario.Target.Target;
        var options = new BackupOptions { SegmentEvents = 15 };

        // The process "dies" while storing the manifest: segments are there, nothing can be cleaned up.
        var crashing = new CrashingTarget(target) { CrashOnManifest = true };
        await Should.ThrowAsync<IOException>(() => new EventLogBackup(scenario.Store, crashing, options, TimeProvider.System).RunAsync(BackupType.Incremental, "test", default));
        crashing.SegmentsStored.ShouldBeGreaterThan(2);
        var crashed = crashing.SetId!;
        (await target.ListObjectsAsync(crashed, default)).Count.ShouldBe(crashing.SegmentsStored, "the segments stay behind");

        // Cancelled after its first segment: whatever it leaves is not a backup either.
        using var cancel = new CancellationTokenSource();
        var cancelling = new CrashingTarget(target) { OnSegmentStored = _ => cancel.Cancel() };
        await Should.ThrowAsync<OperationCanceledException>(() => new EventLogBackup(scenario.Store, cancelling, options, TimeProvider.System).RunAsync(BackupType.Incremental, "test", cancel.Token));
        var cancelled = cancelling.SetId!;

        var listed = await scenario.Client.GetFromJsonAsync<List<BackupListing>>("/api/admin/backups?verify=true", BackupScenario.Json);
        listed.ShouldNotBeNull();
        listed.Where(l => l.Complete).Select(l => l.Id).ShouldBe([full.BackupId!]);
        listed.Where(l => l.Restorable).Select(l => l.Id).ShouldBe([full.BackupId!]);
        var interrupted = listed.Single(l => l.Id == crashed);
        interrupted.Complete.ShouldBeFalse();
        interrupted.Problem!.ShouldContain("no manifest");
        listed.ShouldNotContain(l => l.Id == cancelled && l.Complete);

        foreach (var id in new[] { crashed, cancelled })
        {
            var validation = await (await scenario.Client.PostAsync($"/api/admin/backups/{id}/validate?replay=true", null)).Content.ReadFromJsonAsync<BackupValidation>(BackupScenario.Json);
            validation!.Valid.ShouldBeFalse();
        }

        var runs = await scenario.Client.GetFromJsonAsync<BackupRunList>("/api/admin/backups/runs", BackupScenario.Json);
        runs!.Backups.Single(r => r.Id == crashed).Status.ShouldBe(RunStatus.Failed);
        runs.Backups.Single(r => r.Id == crashed).Error!.ShouldContain("connection to the backup target lost");

        // The next incremental builds on the last complete backup, and the chain restores everything.
        var next = await scenario.BackupAsync(BackupType.Incremental);
        next.ParentId.ShouldBe(full.BackupId);
        next.SequenceFrom.ShouldBe(full.SequenceTo);
        var restoredDatabase = await services.CreateDatabaseAsync();
        var restore = await scenario.RestoreAsync(null, null, restoredDatabase);
        restore.Chain.ShouldBe([full.BackupId!, next.BackupId!]);
        (await BackupScenario.RowsAsync(restoredDatabase, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(scenario.Harness.ConnectionString, BackupScenario.EventRows + " order by seq_id"));
    }

    private static async Task<byte[]> ReadAllAsync(IBackupTarget target, string set, string name)
    {
        await using var stream = await target.OpenReadAsync(set, name, default);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
