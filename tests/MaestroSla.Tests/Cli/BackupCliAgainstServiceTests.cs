using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Reports;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Cli;

/// <summary>The backup and restore verbs against the running service and a real folder target.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupCliAgainstServiceTests(ServicesFixture services)
{
    [Fact]
    public async Task the_cli_takes_lists_validates_and_restores_a_backup_through_the_admin_api()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"maestrosla-cli-backups-{Guid.NewGuid():N}");
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        var restoreTarget = await services.CreateDatabaseAsync();
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Backup:Folder"] = folder,
            ["Backup:RestoreTargets:default"] = restoreTarget,
        });
        try
        {
            var data = GeneratedTelemetry.AroundLastMonthBoundary("Europe/Berlin", seed: 53);
            await data.PostAsync(app.Client, 3_000);
            await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
            var url = app.Address.ToString();

            var (createExit, created) = await CliTests.RunAsync("backup", "create", "--type", "full", "--url", url);
            createExit.ShouldBe(0, created);

            var (listExit, listed) = await CliTests.RunAsync("backup", "list", "--format", "json", "--url", url);
            listExit.ShouldBe(0, listed);
            var backups = await app.Client.GetFromJsonAsync<JsonElement>("/api/admin/backups");
            var id = backups.EnumerateArray().Single().GetProperty("id").GetString()!;
            listed.ShouldContain(id);

            var (validateExit, validated) = await CliTests.RunAsync("backup", "validate", id, "--url", url);
            validateExit.ShouldBe(0, validated);

            var (restoreExit, restored) = await CliTests.RunAsync("restore", id, "--url", url);
            restoreExit.ShouldBe(0, restored);
            await using var target = new DocumentStore(Api.Store.MaestroStore.Configure(new StoreOptions(), restoreTarget));
            await using var session = target.QuerySession();
            var restoredEvents = await session.Events.QueryAllRawEvents().CountAsync();
            await using var liveSession = app.App.Services.GetRequiredService<IDocumentStore>().QuerySession();
            restoredEvents.ShouldBe(await liveSession.Events.QueryAllRawEvents().CountAsync());
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
