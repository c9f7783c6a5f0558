using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Rekeying;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>Sealed segments and signed manifests: what whoever can write the bucket can no longer do unnoticed.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupEncryptionTests(ServicesFixture services)
{
    private static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task an_encrypted_full_and_incremental_chain_restores_to_a_moment_exactly(string kind)
    {
        var key = NewKey();
        await using var scenario = await BackupScenario.StartAsync(services, kind, settings: new Dictionary<string, string?>
        {
            ["Backup:Encryption:Key"] = key,
            ["Backup:Encryption:FrameBytes"] = "4096",
        });
        await scenario.IngestRoundAsync(0);
        var full = await scenario.BackupAsync(BackupType.Full);
        await scenario.IngestRoundAsync(1);
        var incremental = await scenario.BackupAsync(BackupType.Incremental);
        var moment = await BackupScenario.MomentAsync();
        await scenario.IngestRoundAsync(2);
        var last = await scenario.BackupAsync(BackupType.Incremental);
        last.ParentId.ShouldBe(incremental.BackupId);

        var keyId = new BackupKey(Convert.FromBase64String(key)).Id;
        full.KeyId.ShouldBe(keyId);
        var target = scenario.Target.Target;
        var catalog = await BackupCatalog.LoadAsync(target, default);
        foreach (var manifest in catalog.ChainOf(last.BackupId!).Chain)
        {
            manifest.Encryption!.KeyId.ShouldBe(keyId);
            manifest.Signature!.Algorithm.ShouldBe(BackupKeyring.HmacAlgorithm);
            var stored = await ReadAsync(target, manifest.BackupId, BackupManifest.FileName);
            Encoding.UTF8.GetString(stored).ShouldNotContain(key);
            foreach (var segment in manifest.Segments)
            {
                var bytes = await ReadAsync(target, manifest.BackupId, segment.Name);
                SealedFile.LooksSealed(bytes).ShouldBeTrue($"{manifest.BackupId}/{segment.Name}");
            }
        }
        (await scenario.Client.GetStringAsync("/api/admin/backups/status")).ShouldNotContain(key);
        var validation = await (await scenario.Client.PostAsync($"/api/admin/backups/{last.BackupId}/validate?replay=true", null)).Content.ReadFromJsonAsync<BackupValidation>(BackupScenario.Json);
        validation!.Valid.ShouldBeTrue(string.Join("; ", validation.Problems));
        validation.EventsReplayed.ShouldBe(full.Events + incremental.Events + last.Events);

        var liveAsOf = await scenario.ReportsAsync(scenario.Store, moment);
        var restoredDatabase = await services.CreateDatabaseAsync();
        var restore = await scenario.RestoreAsync(null, moment, restoredDatabase);
        restore.Chain.ShouldBe([full.BackupId!, incremental.BackupId!, last.BackupId!]);
        await using (var restored = BackupScenario.OpenStore(restoredDatabase))
        {
            (await scenario.ReportsAsync(restored, moment)).ShouldBe(liveAsOf);
            (await scenario.ReportsAsync(restored, asOf: null, figuresOnly: true))
                .ShouldBe(await scenario.ReportsAsync(scenario.Store, moment, figuresOnly: true));
        }
        (await BackupScenario.RowsAsync(restoredDatabase, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(scenario.Harness.ConnectionString, BackupScenario.EventRows + " where timestamp <= $1 order by seq_id", moment));
    }

    [Fact]
    public async Task every_kind_of_tampering_and_a_wrong_or_missing_key_is_refused_naming_the_file_and_leaving_the_target_untouched()
    {
        var key = NewKey();
        var folder = Directory.CreateTempSubdirectory("maestrosla-tamper-").FullName;
        try
        {
            await using var store = await StoreOnSharedTarget.StartAsync(services, folder, seed: 4, settings: new Dictionary<string, string?>
            {
                ["Backup:Encryption:Key"] = key,
                ["Backup:Encryption:FrameBytes"] = "4096",
                ["Backup:SegmentEvents"] = "100000",
            });
            await store.IngestAsync(1_500);
            var full = await store.BackupAsync(BackupType.Full);
            await store.IngestAsync(600);
            var incremental = await store.BackupAsync(BackupType.Incremental);
            var id = incremental.BackupId!;

            var target = new FolderBackupTarget(folder);
            var options = store.App.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<BackupOptions>>().Value;
            var keys = options.Keyring();
            var validator = new BackupValidator(target, keys);
            var restore = store.App.App.Services.GetRequiredService<EventLogRestore>();
            var empty = await services.CreateDatabaseAsync();
            (await validator.ValidateAsync(id, replay: true, default)).Valid.ShouldBeTrue();

            async Task RefusedAsync(string file, string problem, BackupValidator? by = null, EventLogRestore? restoring = null)
            {
                var validation = await (by ?? validator).ValidateAsync(id, replay: false, default);
                validation.Valid.ShouldBeFalse(file);
                validation.BadSegments.ShouldContain(file, string.Join("; ", validation.Problems));
                validation.Problems.ShouldContain(p => p.StartsWith(file, StringComparison.Ordinal) && p.Contains(problem), string.Join("; ", validation.Problems));
                var refused = await Should.ThrowAsync<BackupCorruptException>(() => (restoring ?? restore).RestoreAsync(new RestoreRequest(null, null, empty), "test", default));
                refused.BadSegments.ShouldContain(file);
                refused.Message.ShouldContain(file);
                (await BackupScenario.CountAsync(empty, "select count(*) from pg_tables where schemaname = 'maestro'")).ShouldBe(0, "nothing may be written");
            }

            var fullManifest = await ManifestAsync(target, full.BackupId!);
            var manifest = await ManifestAsync(target, id);
            // The frames of the full backup's events segment; validated and restored as the incremental's parent.
            var set = full.BackupId!;
            var segment = fullManifest.Segments.Single(s => s.Kind == SegmentKinds.Events);
            var segmentFile = $"{set}/{segment.Name}";
            var original = await ReadAsync(target, set, segment.Name);
            var originalManifest = await ReadAsync(target, id, BackupManifest.FileName);
            var originalFullManifest = await ReadAsync(target, set, BackupManifest.FileName);
            var frames = SealedFileTests.Frames(original);
            frames.Count.ShouldBeGreaterThan(2, "frames to swap and drop");

            // A flipped ciphertext byte.
            var flipped = original.ToArray();
            flipped[SealedFile.HeaderBytes + 100] ^= 0x01;
            await target.PutBytesAsync(set, segment.Name, flipped, default);
            await RefusedAsync(segmentFile, "SHA-256 mismatch");

            // Swapped frames, even by someone able to fix the manifest's hash and signature: the frames do not authenticate.
            byte[] swapped = [.. original.AsSpan(0, SealedFile.HeaderBytes), .. frames[1], .. frames[0], .. frames.Skip(2).SelectMany(f => f)];
            swapped.Length.ShouldBe(original.Length);
            await target.PutBytesAsync(set, segment.Name, swapped, default);
            await RefusedAsync(segmentFile, "SHA-256 mismatch");
            await PutManifestAsync(target, ManifestSigning.Sign(WithSegment(fullManifest, segment, swapped), keys));
            await RefusedAsync(segmentFile, "frame 0 does not authenticate");
            await target.PutBytesAsync(set, BackupManifest.FileName, originalFullManifest, default);

            // Truncated at a frame boundary: the last frame is missing.
            var truncated = original[..^frames[^1].Length];
            await target.PutBytesAsync(set, segment.Name, truncated, default);
            await RefusedAsync(segmentFile, "bytes stored");
            await PutManifestAsync(target, ManifestSigning.Sign(WithSegment(fullManifest, segment, truncated), keys));
            await RefusedAsync(segmentFile, "truncated");
            await target.PutBytesAsync(set, BackupManifest.FileName, originalFullManifest, default);

            // Replaced with another valid sealed segment (the incremental's), its SHA-256 recomputed in the manifest.
            var foreign = await ReadAsync(target, id, manifest.Segments[0].Name);
            await target.PutBytesAsync(set, segment.Name, foreign, default);
            await PutManifestAsync(target, WithSegment(fullManifest, segment, foreign) with { Signature = fullManifest.Signature });
            await RefusedAsync($"{set}/{BackupManifest.FileName}", "signature does not verify");
            await target.PutBytesAsync(set, segment.Name, original, default);
            await target.PutBytesAsync(set, BackupManifest.FileName, originalFullManifest, default);

            // A forged manifest: fewer events, same signature.
            var first = manifest.Segments[0];
            await PutManifestAsync(target, manifest with { EventCount = manifest.EventCount - 1, Segments = manifest.Segments.Select(s => s == first ? s with { Events = s.Events - 1 } : s).ToList() });
            await RefusedAsync($"{id}/{BackupManifest.FileName}", "signature does not verify");
            await target.PutBytesAsync(id, BackupManifest.FileName, originalManifest, default);

            // A replaced parent, validly signed (whoever holds the key made another one): the child pins the original.
            await PutManifestAsync(target, ManifestSigning.Sign(fullManifest with { CreatedAt = fullManifest.CreatedAt.AddSeconds(-1) }, keys), full.BackupId!);
            await RefusedAsync($"{full.BackupId}/{BackupManifest.FileName}", $"replaced: {id} was made on a parent manifest");
            await target.PutBytesAsync(full.BackupId!, BackupManifest.FileName, originalFullManifest, default);

            // A wrong key, and no key at all: refused, naming the key needed.
            var wrong = new BackupOptions { Folder = folder, Encryption = { Key = NewKey() } };
            var wrongRestore = new EventLogRestore(store.Store, target, cs => MaestroStore.Configure(new StoreOptions(), cs), wrong, TimeProvider.System);
            await RefusedAsync($"{full.BackupId}/{BackupManifest.FileName}", $"sealed with key {full.KeyId}, which is not configured", new BackupValidator(target, wrong.Keyring()), wrongRestore);
            var none = new BackupOptions { Folder = folder };
            var noKeyRestore = new EventLogRestore(store.Store, target, cs => MaestroStore.Configure(new StoreOptions(), cs), none, TimeProvider.System);
            await RefusedAsync($"{id}/{BackupManifest.FileName}", $"key {full.KeyId}", new BackupValidator(target), noKeyRestore);

            // Everything put back: it validates and restores.
            (await validator.ValidateAsync(id, replay: true, default)).Valid.ShouldBeTrue();
            (await store.RestoreAsync(null, empty)).EventsDone.ShouldBe(await store.EventsAsync());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task a_chain_across_a_key_rotation_restores_and_rekey_leaves_sets_that_need_only_the_new_key()
    {
        var oldKey = NewKey();
        var newKey = NewKey();
        var folder = Directory.CreateTempSubdirectory("maestrosla-rotation-").FullName;
        try
        {
            await using var store = await StoreOnSharedTarget.StartAsync(services, folder, seed: 5, settings: new Dictionary<string, string?> { ["Backup:Encryption:Key"] = oldKey });
            await store.IngestAsync(1_000);
            var full = await store.BackupAsync(BackupType.Full);
            await store.IngestAsync(400);

            // Rotated: the new key seals, the old one is only read.
            var target = new FolderBackupTarget(folder);
            var rotated = new BackupOptions { Folder = folder, SegmentEvents = 40, Encryption = { Key = newKey, PreviousKeys = [oldKey] } };
            var incremental = await new EventLogBackup(store.Store, target, rotated, TimeProvider.System).RunAsync(BackupType.Incremental, "test", default);
            incremental.ParentId.ShouldBe(full.BackupId);
            incremental.KeyId.ShouldNotBe(full.KeyId);

            var restoreRotated = new EventLogRestore(store.Store, target, cs => MaestroStore.Configure(new StoreOptions(), cs), rotated, TimeProvider.System);
            var across = await services.CreateDatabaseAsync();
            (await restoreRotated.RestoreAsync(new RestoreRequest(null, null, across), "test", default)).Chain.ShouldBe([full.BackupId!, incremental.BackupId!]);
            (await BackupScenario.RowsAsync(across, BackupScenario.EventRows + " order by seq_id"))
                .ShouldBe(await BackupScenario.RowsAsync(store.ConnectionString, BackupScenario.EventRows + " order by seq_id"));

            var newOnly = new BackupOptions { Folder = folder, Encryption = { Key = newKey } };
            var before = await new BackupValidator(target, newOnly.Keyring()).ValidateAsync(incremental.BackupId!, replay: false, default);
            before.Valid.ShouldBeFalse();
            before.Problems.ShouldContain(p => p.Contains(full.KeyId!));

            var result = await new BackupRekey(target, rotated).RunAsync(default);
            result.KeyId.ShouldBe(incremental.KeyId);
            result.Rekeyed.ShouldBe([full.BackupId!, incremental.BackupId!], "the incremental is re-signed over its parent's new manifest");
            result.Refused.ShouldBeEmpty();
            (await new BackupRekey(target, rotated).RunAsync(default)).AlreadyCurrent.ShouldBe([full.BackupId!, incremental.BackupId!]);

            var after = await new BackupValidator(target, newOnly.Keyring()).ValidateAsync(incremental.BackupId!, replay: true, default);
            after.Valid.ShouldBeTrue(string.Join("; ", after.Problems));
            after.EventsReplayed.ShouldBe(full.Events + incremental.Events);
            var oldOnly = new BackupOptions { Folder = folder, Encryption = { Key = oldKey } };
            (await new BackupValidator(target, oldOnly.Keyring()).ValidateAsync(incremental.BackupId!, replay: false, default)).Valid.ShouldBeFalse();
            Directory.EnumerateFiles(Path.Combine(folder, full.BackupId!)).Select(Path.GetFileName)
                .ShouldAllBe(n => n == BackupManifest.FileName || n!.Contains(".k" + result.KeyId + "."), "the old segments are gone");

            var restoreNew = new EventLogRestore(store.Store, target, cs => MaestroStore.Configure(new StoreOptions(), cs), newOnly, TimeProvider.System);
            var rekeyed = await services.CreateDatabaseAsync();
            await restoreNew.RestoreAsync(new RestoreRequest(incremental.BackupId, null, rekeyed), "test", default);
            (await BackupScenario.RowsAsync(rekeyed, BackupScenario.EventRows + " order by seq_id"))
                .ShouldBe(await BackupScenario.RowsAsync(store.ConnectionString, BackupScenario.EventRows + " order by seq_id"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task ecdsa_signed_manifests_verify_with_the_public_key_alone_and_pin_the_unsigned_sets_they_build_on()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var folder = Directory.CreateTempSubdirectory("maestrosla-ecdsa-").FullName;
        try
        {
            // Made before signing was configured: unsigned.
            await using var store = await StoreOnSharedTarget.StartAsync(services, folder, seed: 6);
            await store.IngestAsync(800);
            var full = await store.BackupAsync(BackupType.Full);
            await store.IngestAsync(300);

            var target = new FolderBackupTarget(folder);
            var signing = new BackupOptions { Folder = folder, SegmentEvents = 40, Signing = { PrivateKey = ecdsa.ExportPkcs8PrivateKeyPem() } };
            var incremental = await new EventLogBackup(store.Store, target, signing, TimeProvider.System).RunAsync(BackupType.Incremental, "test", default);
            var manifest = await ManifestAsync(target, incremental.BackupId!);
            manifest.Signature!.Algorithm.ShouldBe(BackupKeyring.EcdsaAlgorithm);
            manifest.Encryption.ShouldBeNull();

            var restoreSite = new BackupOptions { Folder = folder, Signing = { PublicKeys = [ecdsa.ExportSubjectPublicKeyInfoPem()] } };
            var validator = new BackupValidator(target, restoreSite.Keyring());
            var valid = await validator.ValidateAsync(incremental.BackupId!, replay: true, default);
            valid.Valid.ShouldBeTrue(string.Join("; ", valid.Problems));

            // The unsigned full on its own is not trusted where signatures are expected, unless told to.
            var alone = await validator.ValidateAsync(full.BackupId!, replay: false, default);
            alone.Valid.ShouldBeFalse();
            alone.Problems.Single().ShouldContain("is not signed");
            var lenient = new BackupOptions { Folder = folder, Signing = { PublicKeys = [ecdsa.ExportSubjectPublicKeyInfoPem()], AcceptUnsigned = true } };
            (await new BackupValidator(target, lenient.Keyring()).ValidateAsync(full.BackupId!, replay: false, default)).Valid.ShouldBeTrue();

            // Without the public key a signed manifest is not taken on trust; a forged one fails with it.
            (await new BackupValidator(target).ValidateAsync(incremental.BackupId!, replay: false, default)).Problems
                .ShouldContain(p => p.Contains($"{incremental.BackupId}/{BackupManifest.FileName}") && p.Contains("Backup:Signing:PublicKeys"));
            await PutManifestAsync(target, manifest with { SequenceTo = manifest.SequenceTo + 1 });
            var forged = await validator.ValidateAsync(incremental.BackupId!, replay: false, default);
            forged.BadSegments.ShouldContain($"{incremental.BackupId}/{BackupManifest.FileName}");
            forged.Problems.ShouldContain(p => p.Contains("signature does not verify"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static BackupManifest WithSegment(BackupManifest manifest, BackupSegment segment, byte[] bytes) => manifest with
    {
        Segments = manifest.Segments.Select(s => s == segment ? s with { Bytes = bytes.Length, Sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes)) } : s).ToList(),
    };

    private static Task PutManifestAsync(FolderBackupTarget target, BackupManifest manifest, string? id = null) =>
        target.PutBytesAsync(id ?? manifest.BackupId, BackupManifest.FileName, manifest.ToUtf8Json(), default);

    private static async Task<BackupManifest> ManifestAsync(IBackupTarget target, string id) =>
        BackupManifest.Parse(await ReadAsync(target, id, BackupManifest.FileName));

    internal static async Task<byte[]> ReadAsync(IBackupTarget target, string set, string name)
    {
        await using var stream = await target.OpenReadAsync(set, name, default);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}
