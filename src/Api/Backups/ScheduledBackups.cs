using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Retention;
using MaestroSla.Backup.Targets;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Backups;

/// <summary>Section "Backup:Schedule": no interval set, no scheduled backups.</summary>
public sealed class BackupScheduleOptions
{
    public const string Section = "Backup:Schedule";

    /// <summary>A full backup when the newest one is this old (e.g. 1.00:00:00).</summary>
    public TimeSpan? FullEvery { get; set; }

    /// <summary>A differential backup when the newest full or differential one is this old.</summary>
    public TimeSpan? DifferentialEvery { get; set; }

    /// <summary>An incremental backup when the newest backup of any type is this old (e.g. 01:00:00).</summary>
    public TimeSpan? IncrementalEvery { get; set; }

    /// <summary>How often to look whether one is due.</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Retention applied after each scheduled backup (see POST /api/admin/backups/retention).</summary>
    public double? KeepDays { get; set; }

    public int? KeepCount { get; set; }

    public bool Enabled => FullEvery is not null || DifferentialEvery is not null || IncrementalEvery is not null;

    public string? Problem() =>
        new[] { FullEvery, DifferentialEvery, IncrementalEvery }.Any(t => t <= TimeSpan.Zero) ? "Backup:Schedule intervals must be positive"
        : CheckEvery <= TimeSpan.Zero ? "Backup:Schedule:CheckEvery must be positive"
        : KeepDays < 0 || KeepCount < 0 ? "Backup:Schedule:KeepDays and KeepCount must not be negative"
        : null;

    /// <summary>Which backup is due now, if any: full before differential before incremental.</summary>
    public BackupType? Due(DateTimeOffset now, IReadOnlyList<BackupManifest> restorableOldestFirst)
    {
        BackupManifest? newest = null, newestFull = null, newestFullOrDifferential = null;
        foreach (var manifest in restorableOldestFirst)
        {
            newest = manifest;
            if (manifest.Type == BackupType.Full)
            {
                newestFull = manifest;
            }
            if (manifest.Type != BackupType.Incremental)
            {
                newestFullOrDifferential = manifest;
            }
        }
        return newestFull is null ? (Enabled ? BackupType.Full : null)
            : FullEvery is { } full && now - newestFull.CreatedAt >= full ? BackupType.Full
            : DifferentialEvery is { } differential && now - newestFullOrDifferential!.CreatedAt >= differential ? BackupType.Differential
            : IncrementalEvery is { } incremental && now - newest!.CreatedAt >= incremental ? BackupType.Incremental
            : null;
    }
}

/// <summary>
/// Recurring backups: a PeriodicTimer asks every CheckEvery which backup is due (from what the target holds, so a
/// restart or another instance's backup counts) and makes it. Several instances may run this: the backup's
/// advisory lock lets one of them through, and the others find it done at their next check.
/// </summary>
internal sealed class ScheduledBackups(
    EventLogBackup backup,
    BackupRetention retention,
    IBackupTarget target,
    Marten.IDocumentStore store,
    IOptions<BackupScheduleOptions> options,
    TimeProvider time,
    ILogger<ScheduledBackups> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = options.Value;
        if (!schedule.Enabled)
        {
            return;
        }
        logger.LogInformation("Scheduled backups to {Target}: full every {Full}, differential every {Differential}, incremental every {Incremental}",
            target.Description, schedule.FullEvery?.ToString() ?? "-", schedule.DifferentialEvery?.ToString() ?? "-", schedule.IncrementalEvery?.ToString() ?? "-");
        using var timer = new PeriodicTimer(schedule.CheckEvery, time);
        do
        {
            try
            {
                await RunDueAsync(schedule, stoppingToken);
            }
            catch (BackupInProgressException)
            {
                logger.LogDebug("A backup is already running; looking again in {CheckEvery}", schedule.CheckEvery);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Recorded as a failed run; the next check tries again.
                logger.LogError(ex, "Scheduled backup failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task RunDueAsync(BackupScheduleOptions schedule, CancellationToken ct)
    {
        var identity = await MaestroSla.Backup.Identity.StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        // Only this store's timeline counts: another database's backups on a shared target are not ours to follow.
        var restorable = catalog.Complete.Where(m => identity.Made(m) && catalog.IsRestorable(m.BackupId)).ToList();
        if (schedule.Due(time.GetUtcNow(), restorable) is not { } type)
        {
            return;
        }
        await backup.RunAsync(type, "schedule", ct);
        if (schedule.KeepDays is not null || schedule.KeepCount is not null)
        {
            var result = await retention.ApplyAsync(schedule.KeepDays, schedule.KeepCount, ct);
            if (result.Deleted.Count + result.IncompleteDeleted.Count > 0)
            {
                logger.LogInformation("Retention deleted {Deleted} backups and {Incomplete} incomplete sets", result.Deleted.Count, result.IncompleteDeleted.Count);
            }
        }
    }
}
