using System.Net.Http.Json;
using MaestroSla.Api.Backups;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Validating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Backup;

public sealed class BackupScheduleDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static readonly BackupScheduleOptions Daily = new()
    {
        FullEvery = TimeSpan.FromDays(1),
        DifferentialEvery = TimeSpan.FromHours(6),
        IncrementalEvery = TimeSpan.FromHours(1),
    };

    [Fact]
    public void without_any_backup_a_full_one_is_due() => Daily.Due(Now, []).ShouldBe(BackupType.Full);

    [Fact]
    public void nothing_is_due_without_intervals() => new BackupScheduleOptions().Due(Now, []).ShouldBeNull();

    [Fact]
    public void each_kind_is_due_when_the_newest_backup_it_follows_is_old_enough()
    {
        Daily.Due(Now, [Made(BackupType.Full, hoursAgo: 25)]).ShouldBe(BackupType.Full);
        Daily.Due(Now, [Made(BackupType.Full, hoursAgo: 7)]).ShouldBe(BackupType.Differential);
        Daily.Due(Now, [Made(BackupType.Full, hoursAgo: 7), Made(BackupType.Differential, hoursAgo: 2)]).ShouldBe(BackupType.Incremental);
        Daily.Due(Now, [Made(BackupType.Full, hoursAgo: 7), Made(BackupType.Differential, hoursAgo: 2), Made(BackupType.Incremental, hoursAgo: 0.5)]).ShouldBeNull();
        Daily.Due(Now, [Made(BackupType.Full, hoursAgo: 23), Made(BackupType.Incremental, hoursAgo: 0.5)]).ShouldBe(BackupType.Differential);
    }

    private static BackupManifest Made(BackupType type, double hoursAgo) => new()
    {
        FormatVersion = 1,
        BackupId = $"{type}-{hoursAgo}",
        Type = type,
        CreatedAt = Now.AddHours(-hoursAgo),
        SequenceFrom = 0,
        SequenceTo = 0,
        EventCount = 0,
        Schema = "maestro",
        Segments = [],
    };
}

[Collection(SharedServices.Name)]
public sealed class ScheduledBackupTests(ServicesFixture services)
{
    [Fact]
    public async Task scheduled_backups_run_on_their_intervals_and_every_run_is_recorded()
    {
        await using var scenario = await BackupScenario.StartAsync(services, TargetKinds.Folder, settings: new Dictionary<string, string?>
        {
            ["Backup:Schedule:FullEvery"] = "00:00:04",
            ["Backup:Schedule:IncrementalEvery"] = "00:00:00.500",
            ["Backup:Schedule:CheckEvery"] = "00:00:00.200",
            ["Backup:Schedule:KeepCount"] = "3",
        });
        await scenario.IngestRoundAsync(0);

        BackupRunList runs;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            await Task.Delay(250);
            runs = (await scenario.Client.GetFromJsonAsync<BackupRunList>("/api/admin/backups/runs", BackupScenario.Json))!;
        }
        while (DateTime.UtcNow < deadline
            && (runs.Backups.Count(r => r.Type == BackupType.Full && r.Status == RunStatus.Succeeded) < 2 || IncrementalsSinceLastFull(runs) < 3));

        runs.Backups.ShouldAllBe(r => r.Trigger == "schedule" && r.Status != RunStatus.Failed);
        runs.Backups.Count(r => r.Type == BackupType.Full && r.Status == RunStatus.Succeeded).ShouldBeGreaterThanOrEqualTo(2);
        IncrementalsSinceLastFull(runs).ShouldBeGreaterThanOrEqualTo(3);
        runs.Backups.Where(r => r.Status == RunStatus.Succeeded).ShouldAllBe(r => r.Duration != null && r.BackupId != null);

        var status = await scenario.Client.GetFromJsonAsync<BackupStatus>("/api/admin/backups/status", BackupScenario.Json);
        status!.Rpo!.Value.ShouldBeLessThan(TimeSpan.FromSeconds(10));

        // Retention after each run keeps the newest three and whatever they build on, all of it valid. (Looked at
        // with the schedule stopped, so no retention runs while the sets are read.)
        await scenario.App.App.StopAsync();
        List<BackupRun> made;
        await using (var session = scenario.Store.QuerySession())
        {
            made = (await session.Query<BackupRun>().Where(r => r.Status == RunStatus.Succeeded).ToListAsync()).ToList();
        }
        var catalog = await BackupCatalog.LoadAsync(scenario.Target.Target, default);
        var complete = catalog.Entries.Where(e => e.Complete).ToList();
        // The newest three were incrementals on a later full backup, so the first chain is gone; what is left holds
        // the newest three and everything they build on.
        complete.Count.ShouldBeLessThan(made.Count, "retention deleted the first chain");
        complete.Select(e => e.Id).ShouldContain(made.OrderByDescending(r => r.StartedAt).First().BackupId!);
        var validator = new BackupValidator(scenario.Target.Target);
        foreach (var entry in complete)
        {
            var validation = await validator.ValidateAsync(catalog, entry.Id, replay: true, default);
            validation.Valid.ShouldBeTrue(string.Join("; ", validation.Problems));
        }
    }

    private static int IncrementalsSinceLastFull(BackupRunList runs) =>
        runs.Backups.Where(r => r.Status == RunStatus.Succeeded).OrderByDescending(r => r.StartedAt)
            .TakeWhile(r => r.Type != BackupType.Full).Count();
}
