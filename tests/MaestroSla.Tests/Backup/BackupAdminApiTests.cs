using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

[Collection(SharedServices.Name)]
public sealed class BackupAdminApiTests(ServicesFixture services)
{
    [Fact]
    public async Task runs_started_without_waiting_report_progress_and_outcome_and_unsafe_restores_are_refused()
    {
        var named = await services.CreateDatabaseAsync();
        await using var scenario = await BackupScenario.StartAsync(services, TargetKinds.Folder, segmentEvents: 10,
            settings: new Dictionary<string, string?> { ["Backup:RestoreTargets:default"] = named });
        await scenario.IngestRoundAsync(0);

        (await scenario.Client.PostAsync("/api/admin/backups?type=weekly", null)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using (var anonymous = scenario.CreateClientWithoutKey())
        {
            (await anonymous.PostAsync("/api/admin/backups?type=full", null)).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        // 202 with the run and where to follow it; the run reports status and progress as camelCase strings and
        // a percentage, which is what the maestrosla CLI reads.
        var accepted = await scenario.Client.PostAsync("/api/admin/backups?type=full&wait=false", null);
        accepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await accepted.Content.ReadAsStringAsync());
        var location = accepted.Headers.Location!.ToString();
        location.ShouldStartWith("/api/admin/backups/runs/");
        var backup = await FollowAsync<BackupRun>(scenario, location);
        backup.Status.ShouldBe(RunStatus.Succeeded, backup.Error);
        backup.Type.ShouldBe(BackupType.Full);
        backup.Events.ShouldBeGreaterThan(0);
        backup.EventsDone.ShouldBe(backup.Events);
        backup.EventsTotal.ShouldBe(backup.Events);
        using (var raw = JsonDocument.Parse(await scenario.Client.GetStringAsync(location)))
        {
            raw.RootElement.GetProperty("status").GetString().ShouldBe("succeeded");
            raw.RootElement.GetProperty("type").GetString().ShouldBe("full");
            raw.RootElement.GetProperty("percent").GetDouble().ShouldBe(100);
        }

        // No target in the request: the configured default.
        var restoreAccepted = await scenario.Client.PostAsJsonAsync("/api/admin/restores?wait=false", new { backupId = (string?)null });
        restoreAccepted.StatusCode.ShouldBe(HttpStatusCode.Accepted, await restoreAccepted.Content.ReadAsStringAsync());
        var restore = await FollowAsync<RestoreRun>(scenario, restoreAccepted.Headers.Location!.ToString());
        restore.Status.ShouldBe(RunStatus.Succeeded, restore.Error);
        restore.BackupId.ShouldBe(backup.BackupId);
        restore.EventsDone.ShouldBe(backup.Events);
        (await BackupScenario.CountAsync(named, "select count(*) from maestro.mt_events")).ShouldBe(backup.Events);

        var (again, againBody) = await scenario.PostRestoreAsync(null, null, named);
        again.ShouldBe(HttpStatusCode.Conflict);
        againBody.ShouldContain("not empty");
        var (live, liveBody) = await scenario.PostRestoreAsync(null, null, scenario.Harness.ConnectionString, force: true);
        live.ShouldBe(HttpStatusCode.Conflict);
        liveBody.ShouldContain("the database this service runs on");
        (await scenario.PostRestoreAsync("20990101T000000000Z-full-0000", null, await services.CreateDatabaseAsync())).Status.ShouldBe(HttpStatusCode.NotFound);
        (await scenario.Client.PostAsJsonAsync("/api/admin/restores", new { target = "staging" })).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        // Forced, over the restored database: emptied first, then the same result.
        await scenario.IngestRoundAsync(1);
        await scenario.BackupAsync(BackupType.Incremental);
        await scenario.RestoreAsync(null, null, named, force: true);
        (await BackupScenario.RowsAsync(named, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(scenario.Harness.ConnectionString, BackupScenario.EventRows + " order by seq_id"));
    }

    private static async Task<T> FollowAsync<T>(BackupScenario scenario, string location) where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var document = JsonDocument.Parse(await scenario.Client.GetStringAsync(location));
            if (document.RootElement.GetProperty("status").GetString() != "running")
            {
                return document.RootElement.Deserialize<T>(BackupScenario.Json)!;
            }
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the run did not finish");
            await Task.Delay(100);
        }
    }
}
