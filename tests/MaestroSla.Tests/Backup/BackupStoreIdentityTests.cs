using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Api.Backups;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// Two event stores sharing one backup folder (the demo run twice, then the service started on its own database)
/// never chain or restore across each other, and a restored copy is the same store on a new timeline.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class BackupStoreIdentityTests(ServicesFixture services)
{
    [Fact]
    public async Task stores_sharing_a_folder_never_chain_or_restore_across_each_other_and_a_restored_copy_starts_a_new_timeline()
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-shared-backups-").FullName;
        try
        {
            await using var first = await StoreOnSharedTarget.StartAsync(services, folder, seed: 1);
            await first.IngestAsync(1_500);
            var firstFull = await first.BackupAsync(BackupType.Full);
            await first.IngestAsync(500);
            var firstDifferential = await first.BackupAsync(BackupType.Differential);

            // The second database's first incremental has nothing of its own to build on: a full, saying why.
            await using var second = await StoreOnSharedTarget.StartAsync(services, folder, seed: 2);
            await second.IngestAsync(700);
            var secondFull = await second.BackupAsync(BackupType.Incremental);
            secondFull.Type.ShouldBe(BackupType.Full);
            secondFull.ParentId.ShouldBeNull();
            secondFull.FullBecause!.ShouldContain($"no complete backup of this store ({secondFull.StoreId})");
            secondFull.StoreId.ShouldNotBe(firstFull.StoreId);
            secondFull.Timeline.ShouldBe(1);

            // The first store's incremental builds on its own newest backup, not on the second store's newer one.
            await first.IngestAsync(300);
            var firstIncremental = await first.BackupAsync(BackupType.Incremental);
            firstIncremental.ParentId.ShouldBe(firstDifferential.BackupId);
            firstIncremental.SequenceFrom.ShouldBe(firstDifferential.SequenceTo);
            (await second.BackupAsync(BackupType.Differential)).ParentId.ShouldBe(secondFull.BackupId);

            // "The latest" is the asking store's newest backup, by time.
            var secondCopy = await services.CreateDatabaseAsync();
            var secondRestore = await second.RestoreAsync(null, secondCopy);
            secondRestore.Chain[0].ShouldBe(secondFull.BackupId);
            (await BackupScenario.CountAsync(secondCopy, "select count(*) from maestro.mt_events")).ShouldBe(await second.EventsAsync());
            var firstCopy = await services.CreateDatabaseAsync();
            var firstRestore = await first.RestoreAsync(null, firstCopy);
            firstRestore.Chain.ShouldBe([firstFull.BackupId!, firstDifferential.BackupId!, firstIncremental.BackupId!]);
            firstRestore.StoreId.ShouldBe(firstFull.StoreId);
            firstRestore.SourceTimeline.ShouldBe(1);
            firstRestore.Timeline.ShouldBe(2);

            // Naming another store's backup takes the explicit flag.
            var elsewhere = await services.CreateDatabaseAsync();
            var (refused, refusal) = await second.PostRestoreAsync(firstIncremental.BackupId, elsewhere);
            refused.ShouldBe(HttpStatusCode.Conflict, refusal);
            refusal.ShouldContain($"store {firstFull.StoreId}");
            refusal.ShouldContain("allowOtherStore");
            (await BackupScenario.CountAsync(elsewhere, "select count(*) from pg_tables where schemaname = 'maestro'")).ShouldBe(0);
            (await second.RestoreAsync(firstIncremental.BackupId, elsewhere, allowOtherStore: true)).EventsDone.ShouldBe(await first.EventsAsync());

            // List and status say which store, timeline and time every set is of.
            var listed = (await first.Client.GetFromJsonAsync<List<BackupListing>>("/api/admin/backups", BackupScenario.Json))!;
            listed.Count.ShouldBe(5);
            listed.ShouldAllBe(l => l.StoreId != null && l.Timeline == 1 && l.CreatedAt != null);
            listed.Where(l => l.ThisStore).Select(l => l.Id).ShouldBe([firstIncremental.BackupId!, firstDifferential.BackupId!, firstFull.BackupId!]);
            listed.Select(l => l.CreatedAt).ShouldBeInOrder(SortDirection.Descending);
            var status = (await second.Client.GetFromJsonAsync<BackupStatus>("/api/admin/backups/status", BackupScenario.Json))!;
            status.StoreId.ShouldBe(secondFull.StoreId);
            status.Timeline.ShouldBe(1);
            status.NewestBackup.ShouldNotBe(firstIncremental.BackupId);
            status.OtherStoresSets.ShouldBe(3);

            // The restored copy, served, is the first store on timeline 2: its backups start their own chain.
            await using var restored = await StoreOnSharedTarget.StartAsync(services, folder, seed: 1, connectionString: firstCopy);
            var restoredStatus = (await restored.Client.GetFromJsonAsync<BackupStatus>("/api/admin/backups/status", BackupScenario.Json))!;
            restoredStatus.StoreId.ShouldBe(firstFull.StoreId);
            restoredStatus.Timeline.ShouldBe(2);
            restoredStatus.RestoredFrom.ShouldBe(firstIncremental.BackupId);
            var timelineFull = await restored.BackupAsync(BackupType.Incremental);
            timelineFull.Type.ShouldBe(BackupType.Full);
            timelineFull.FullBecause!.ShouldContain("timeline 2");
            timelineFull.StoreId.ShouldBe(firstFull.StoreId);
            timelineFull.Timeline.ShouldBe(2);
            var timelineIncremental = await restored.BackupAsync(BackupType.Incremental);
            timelineIncremental.ParentId.ShouldBe(timelineFull.BackupId);
            // ... and the original goes on with its own.
            await first.IngestAsync(200);
            (await first.BackupAsync(BackupType.Incremental)).ParentId.ShouldBe(firstIncremental.BackupId);
            // The restored copy's latest is its own timeline's, though the original's is newer.
            var again = await services.CreateDatabaseAsync();
            (await restored.RestoreAsync(null, again)).Chain.ShouldBe([timelineFull.BackupId!, timelineIncremental.BackupId!]);
            (await restored.RestoreAsync(firstIncremental.BackupId, await services.CreateDatabaseAsync())).Timeline.ShouldBe(3, "timeline 2 is taken on this target");

            // A chain that mixes stores does not validate: the second store's differential made to point at the first's full.
            var target = new FolderBackupTarget(folder);
            var manifest = await ReadManifestAsync(target, firstIncremental.BackupId!);
            var secondDifferentialId = listed.Single(l => !l.ThisStore && l.Type == BackupType.Differential).Id;
            var mixed = (await ReadManifestAsync(target, secondDifferentialId)) with { ParentId = firstFull.BackupId, SequenceFrom = firstFull.SequenceTo };
            await target.PutBytesAsync(secondDifferentialId, BackupManifest.FileName, mixed.ToUtf8Json(), default);
            var validation = (await (await second.Client.PostAsync($"/api/admin/backups/{secondDifferentialId}/validate", null)).Content
                .ReadFromJsonAsync<BackupValidation>(BackupScenario.Json))!;
            validation.Valid.ShouldBeFalse();
            validation.Problems.ShouldContain(p => p.Contains("never mixes stores or timelines"));
            manifest.StoreId.ShouldBe(firstFull.StoreId);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task unknown_backup_ids_answer_404_and_no_answer_shows_a_server_path()
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-paths-").FullName;
        try
        {
            await using var store = await StoreOnSharedTarget.StartAsync(services, folder, seed: 3);
            await store.IngestAsync(200);
            var backup = await store.BackupAsync(BackupType.Full);

            var bodies = new List<string>();
            foreach (var (method, path) in new[]
            {
                ("POST", "/api/admin/backups/20990101T000000000Z-full-0000/validate"),
                ("POST", "/api/admin/backups/nonsense/validate?replay=true"),
                ("POST", "/api/admin/backups/..%2F..%2Fetc/validate"),
                ("POST", "/api/admin/backups/nonsense/replicate"),
                ("GET", "/api/admin/backups/runs/nonsense"),
            })
            {
                var response = await store.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
                var body = await response.Content.ReadAsStringAsync();
                if (!path.EndsWith("/replicate", StringComparison.Ordinal))
                {
                    response.StatusCode.ShouldBe(HttpStatusCode.NotFound, $"{method} {path}: {body}");
                    response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json", $"{method} {path}");
                }
                ((int)response.StatusCode).ShouldBeLessThan(500, $"{method} {path}: {body}");
                bodies.Add(body);
            }
            var (restoreStatus, restoreBody) = await store.PostRestoreAsync("20990101T000000000Z-full-0000", await services.CreateDatabaseAsync());
            restoreStatus.ShouldBe(HttpStatusCode.NotFound);
            bodies.Add(restoreBody);
            bodies.Add(await store.Client.GetStringAsync("/api/admin/backups?verify=true"));
            bodies.Add(await store.Client.GetStringAsync("/api/admin/backups/status"));
            bodies.Add(await store.Client.GetStringAsync("/api/admin/backups/runs"));
            bodies.Add(await (await store.Client.PostAsync($"/api/admin/backups/{backup.BackupId}/validate", null)).Content.ReadAsStringAsync());
            bodies.Add(JsonSerializer.Serialize(backup, BackupScenario.Json));
            foreach (var body in bodies)
            {
                body.ShouldNotContain(folder);
                body.ShouldNotContain(Path.GetTempPath().TrimEnd('/'));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<BackupManifest> ReadManifestAsync(FolderBackupTarget target, string id)
    {
        await using var stream = await target.OpenReadAsync(id, BackupManifest.FileName, default);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return BackupManifest.Parse(buffer.ToArray());
    }
}
