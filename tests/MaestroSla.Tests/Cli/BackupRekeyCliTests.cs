using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using MaestroSla.Backup;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Tests.Backup;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Cli;

/// <summary>`maestrosla backup rekey` and `restore --other-store` against the running service and a real folder.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupRekeyCliTests(ServicesFixture services)
{
    [Fact]
    public async Task rekey_re_seals_every_set_with_the_new_key_and_another_stores_backup_needs_the_explicit_flag()
    {
        var oldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var newKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var folder = Directory.CreateTempSubdirectory("maestrosla-cli-rekey-").FullName;
        try
        {
            var database = await services.CreateDatabaseAsync();
            string backupId;
            await using (var before = await StoreOnSharedTarget.StartAsync(services, folder, seed: 7, connectionString: database,
                settings: new Dictionary<string, string?> { ["Backup:Encryption:Key"] = oldKey }))
            {
                await before.IngestAsync(500);
                var (createExit, created) = await CliTests.RunAsync("backup", "create", "--type", "full", "--url", before.App.Address.ToString());
                createExit.ShouldBe(0, created);
                var listed = await before.Client.GetFromJsonAsync<JsonElement>("/api/admin/backups");
                backupId = listed.EnumerateArray().Single().GetProperty("id").GetString()!;
            }

            // The service restarted with the new key, the old one only readable.
            await using var after = await StoreOnSharedTarget.StartAsync(services, folder, seed: 7, connectionString: database,
                settings: new Dictionary<string, string?> { ["Backup:Encryption:Key"] = newKey, ["Backup:Encryption:PreviousKeys:0"] = oldKey });
            var url = after.App.Address.ToString();
            var (rekeyExit, rekeyed) = await CliTests.RunAsync("backup", "rekey", "--url", url);
            rekeyExit.ShouldBe(0, rekeyed);
            rekeyed.ShouldContain(backupId);
            rekeyed.ShouldContain("rekey done");
            rekeyed.ShouldNotContain(newKey);

            var newOnly = new BackupOptions { Folder = folder, Encryption = { Key = newKey } };
            var validation = await new BackupValidator(new FolderBackupTarget(folder), newOnly.Keyring()).ValidateAsync(backupId, replay: true, default);
            validation.Valid.ShouldBeTrue(string.Join("; ", validation.Problems));
            var oldOnly = new BackupOptions { Folder = folder, Encryption = { Key = oldKey } };
            (await new BackupValidator(new FolderBackupTarget(folder), oldOnly.Keyring()).ValidateAsync(backupId, replay: false, default)).Valid.ShouldBeFalse();
            var (validateExit, validated) = await CliTests.RunAsync("backup", "validate", backupId, "--url", url);
            validateExit.ShouldBe(0, validated);

            // Another database on the same folder: the first store's backup is not its to restore without saying so.
            await using var other = await StoreOnSharedTarget.StartAsync(services, folder, seed: 8,
                settings: new Dictionary<string, string?> { ["Backup:Encryption:Key"] = newKey, ["Backup:RestoreTargets:default"] = await services.CreateDatabaseAsync() });
            var otherUrl = other.App.Address.ToString();
            var (refusedExit, refused) = await CliTests.RunAsync("restore", backupId, "--url", otherUrl);
            refusedExit.ShouldBe(1, refused);
            refused.ShouldContain("409");
            refused.ShouldContain("allowOtherStore");
            var (latestExit, latest) = await CliTests.RunAsync("restore", "--url", otherUrl);
            latestExit.ShouldBe(1, latest);
            latest.ShouldContain("no complete backup of this store");
            var (restoreExit, restored) = await CliTests.RunAsync("restore", backupId, "--other-store", "--url", otherUrl);
            restoreExit.ShouldBe(0, restored);
            restored.ShouldContain("restore done");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
