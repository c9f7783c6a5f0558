using System.Net.Http.Json;
using MaestroSla.Api.Backups;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// The event log is the truth: a database rebuilt from backups by replay must answer every SLA question exactly
/// as the live one does — now, or as of any moment the backups cover.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class BackupRestoreTests(ServicesFixture services)
{
    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task restoring_the_latest_full_and_incrementals_reproduces_every_sla_report_exactly(string kind)
    {
        await using var scenario = await BackupScenario.StartAsync(services, kind);
        await scenario.IngestRoundAsync(0);
        var full = await scenario.BackupAsync(BackupType.Full);
        await scenario.IngestRoundAsync(1);
        var incremental = await scenario.BackupAsync(BackupType.Incremental);
        await scenario.IngestRoundAsync(2);
        var differential = await scenario.BackupAsync(BackupType.Differential);
        var empty = await scenario.BackupAsync(BackupType.Incremental);

        full.SequenceFrom.ShouldBe(0);
        full.Segments.ShouldBeGreaterThan(2, "several event segments and the state segment");
        incremental.ParentId.ShouldBe(full.BackupId);
        incremental.SequenceFrom.ShouldBe(full.SequenceTo);
        differential.ParentId.ShouldBe(full.BackupId, "a differential builds on the last full backup");
        differential.SequenceFrom.ShouldBe(full.SequenceTo);
        differential.Events.ShouldBeGreaterThan(incremental.Events);
        empty.ParentId.ShouldBe(differential.BackupId, "an incremental builds on the previous backup of any type");
        empty.Events.ShouldBe(0);

        var live = await scenario.ReportsAsync(scenario.Store, asOf: null);
        var target = await services.CreateDatabaseAsync();
        var restore = await scenario.RestoreAsync(backupId: null, pointInTime: null, target);
        restore.Chain.ShouldBe([full.BackupId!, differential.BackupId!, empty.BackupId!]);

        await using (var restored = BackupScenario.OpenStore(target))
        {
            (await scenario.ReportsAsync(restored, asOf: null)).ShouldBe(live);
        }
        var liveConnection = scenario.Harness.ConnectionString;
        (await BackupScenario.RowsAsync(target, BackupScenario.EventRows + " order by seq_id"))
            .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.EventRows + " order by seq_id"));
        (await BackupScenario.RowsAsync(target, BackupScenario.StreamRows)).ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.StreamRows));
        (await BackupScenario.RowsAsync(target, BackupScenario.DeadLetterRows + " order by id"))
            .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.DeadLetterRows + " order by id"));
        (await BackupScenario.RowsAsync(target, BackupScenario.OffsetRows)).ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.OffsetRows));
        (await BackupScenario.RowsAsync(target, BackupScenario.HistoryRows + " order by id"))
            .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.HistoryRows + " order by id"));

        // Recorded runs, RPO and RTO.
        var runs = await scenario.Client.GetFromJsonAsync<BackupRunList>("/api/admin/backups/runs", BackupScenario.Json);
        runs!.Backups.Count.ShouldBe(4);
        runs.Backups.ShouldAllBe(r => r.Status == RunStatus.Succeeded && r.Trigger == "api" && r.Duration > TimeSpan.Zero);
        runs.Backups.Sum(r => r.Bytes).ShouldBeGreaterThan(0);
        runs.Restores.Single().EventsDone.ShouldBe(await BackupScenario.CountAsync(liveConnection, "select count(*) from maestro.mt_events"));
        var status = await scenario.Client.GetFromJsonAsync<BackupStatus>("/api/admin/backups/status", BackupScenario.Json);
        status!.NewestBackup.ShouldBe(empty.BackupId);
        status.Rpo!.Value.ShouldBeGreaterThanOrEqualTo(TimeSpan.Zero);
        status.Rpo.Value.ShouldBeLessThan(TimeSpan.FromMinutes(5));
        status.LastRestore.ShouldBe(restore.Id);
        status.Rto.ShouldBe(restore.Duration);
    }

    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task restoring_to_a_moment_gives_the_reports_computed_from_only_the_events_up_to_it(string kind)
    {
        await using var scenario = await BackupScenario.StartAsync(services, kind);
        await scenario.IngestRoundAsync(0);
        var full = await scenario.BackupAsync(BackupType.Full);
        var afterFirst = await BackupScenario.MomentAsync();
        await scenario.IngestRoundAsync(1);
        await scenario.BackupAsync(BackupType.Incremental);
        var afterSecond = await BackupScenario.MomentAsync();
        await scenario.IngestRoundAsync(2);
        await scenario.BackupAsync(BackupType.Incremental);

        var liveConnection = scenario.Harness.ConnectionString;
        var liveNow = await scenario.ReportsAsync(scenario.Store, asOf: null, figuresOnly: true);
        foreach (var (moment, backupId) in new[] { (afterFirst, full.BackupId), (afterSecond, null) })
        {
            var liveAsOf = await scenario.ReportsAsync(scenario.Store, moment);
            (await scenario.ReportsAsync(scenario.Store, moment, figuresOnly: true)).ShouldNotBe(liveNow, "later events must change the reports for this test to mean anything");

            var target = await services.CreateDatabaseAsync();
            var restore = await scenario.RestoreAsync(backupId, moment, target);
            restore.PointInTime.ShouldBe(moment);

            await using (var restored = BackupScenario.OpenStore(target))
            {
                // The same question asked of both databases gets the same answer ...
                (await scenario.ReportsAsync(restored, moment)).ShouldBe(liveAsOf);
                // ... and the restored database's own (projected) reports are the live ones as of the moment.
                (await scenario.ReportsAsync(restored, asOf: null, figuresOnly: true))
                    .ShouldBe(await scenario.ReportsAsync(scenario.Store, moment, figuresOnly: true));
            }

            (await BackupScenario.RowsAsync(target, BackupScenario.EventRows + " order by seq_id"))
                .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.EventRows + " where timestamp <= $1 order by seq_id", moment));
            (await BackupScenario.RowsAsync(target, BackupScenario.DeadLetterRows + " order by id"))
                .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.DeadLetterRows + " where mt_last_modified <= $1 order by id", moment));
            (await BackupScenario.RowsAsync(target, BackupScenario.HistoryRows + " order by id"))
                .ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.HistoryRows + " where committed_at <= $1 order by id", moment));

            // Ingest resumes exactly where the restored events end: the offsets as of the moment.
            var offsets = await BackupScenario.RowsAsync(target, BackupScenario.OffsetRows);
            offsets.ShouldBe(await BackupScenario.RowsAsync(liveConnection, BackupScenario.OffsetsAsOfRows, moment));
            offsets.Count.ShouldBe(4, "one stored offset per partition");
        }
    }
}
