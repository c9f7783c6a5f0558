using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <param name="Rpo">Recovery point objective as it stands: the age of the newest restorable backup.</param>
/// <param name="Rto">Recovery time as last measured: the duration of the last successful restore.</param>
public sealed record BackupStatus(
    string Target,
    string? NewestBackup,
    DateTimeOffset? NewestBackupAt,
    TimeSpan? Rpo,
    string? LastRestore,
    DateTimeOffset? LastRestoreAt,
    TimeSpan? Rto,
    int IncompleteSets,
    BackupRun? LastBackupRun,
    string? StoreId = null,
    int? Timeline = null,
    DateTimeOffset? TimelineCreatedAt = null,
    string? RestoredFrom = null,
    string? KeyId = null,
    int OtherStoresSets = 0);

/// <summary>Where backups stand: the recovery point (RPO) and the last measured recovery time (RTO) of this store.</summary>
public static class BackupStatusEndpoint
{
    [WolverineGet("/api/admin/backups/status")]
    public static async Task<BackupStatus> Get(IBackupTarget target, IQuerySession session, IDocumentStore store, BackupKeyring keys, TimeProvider time, CancellationToken ct)
    {
        var identity = await StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        // The recovery point of this store: another database's backups on a shared target restore nothing of ours.
        var newest = catalog.LatestFor(identity);
        var lastRestore = await session.Query<RestoreRun>()
            .Where(r => r.Status == RunStatus.Succeeded)
            .OrderByDescending(r => r.StartedAt).FirstOrDefaultAsync(ct);
        var lastRun = await session.Query<BackupRun>().OrderByDescending(r => r.StartedAt).FirstOrDefaultAsync(ct);
        return new BackupStatus(
            target.Description,
            newest?.BackupId,
            newest?.CreatedAt,
            newest is null ? null : time.GetUtcNow() - newest.CreatedAt,
            lastRestore?.Id,
            lastRestore?.StartedAt,
            lastRestore?.Duration,
            catalog.Entries.Count(e => !e.Complete),
            lastRun,
            identity.StoreId,
            identity.Timeline,
            identity.CreatedAt,
            identity.RestoredFrom,
            keys.Current?.Id,
            catalog.Complete.Count(m => !identity.SameStore(m)));
    }
}
