using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Targets;

namespace MaestroSla.Backup.Retention;

public sealed record RetentionResult(
    IReadOnlyList<string> Kept,
    IReadOnlyList<string> KeptForChains,
    IReadOnlyList<string> Deleted,
    IReadOnlyList<string> IncompleteDeleted,
    IReadOnlyList<string>? Locked = null);

/// <summary>
/// Deletes old backups by age and/or count without ever breaking a chain: whatever a kept backup builds on is
/// kept too, and so is the newest restorable backup whatever the rules say. Sets without a manifest are removed
/// once they are older than <see cref="IncompleteGrace"/> (younger ones may still be being written).
/// </summary>
public sealed class BackupRetention(IBackupTarget target, TimeProvider time)
{
    public static readonly TimeSpan IncompleteGrace = TimeSpan.FromHours(6);

    /// <param name="keepDays">Keep backups created within this many days.</param>
    /// <param name="keepCount">Keep this many newest backups.</param>
    /// <remarks>With both, a backup is kept when either rule keeps it.</remarks>
    public async Task<RetentionResult> ApplyAsync(double? keepDays, int? keepCount, CancellationToken ct)
    {
        if (keepDays is null && keepCount is null)
        {
            throw new ArgumentException("Give keepDays, keepCount or both");
        }
        if (keepDays < 0 || keepCount < 0)
        {
            throw new ArgumentOutOfRangeException(keepDays < 0 ? nameof(keepDays) : nameof(keepCount), "must not be negative");
        }

        var now = time.GetUtcNow();
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        var newestFirst = catalog.Complete.Reverse().ToList();

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < newestFirst.Count; i++)
        {
            var manifest = newestFirst[i];
            if ((keepCount is { } count && i < count) || (keepDays is { } days && now - manifest.CreatedAt <= TimeSpan.FromDays(days)))
            {
                wanted.Add(manifest.BackupId);
            }
        }
        // Stores (or timelines) sharing the target each keep their newest restorable backup.
        foreach (var timeline in catalog.Complete.GroupBy(m => (m.StoreId, m.TimelineId)))
        {
            if (timeline.Reverse().FirstOrDefault(m => catalog.IsRestorable(m.BackupId)) is { } newest)
            {
                wanted.Add(newest.BackupId);
            }
        }

        // Close over dependencies: a kept backup is only useful with its whole chain.
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in wanted)
        {
            var (chain, problem) = catalog.ChainOf(id);
            if (problem is null)
            {
                kept.UnionWith(chain.Select(m => m.BackupId));
            }
            else
            {
                kept.Add(id); // asked for but not restorable: keep it for someone to look at, but nothing more
            }
        }

        // Newest first, so an interrupted run never leaves a backup whose parent is already gone.
        var deleted = new List<string>();
        var locked = new List<string>();
        foreach (var manifest in newestFirst.Where(m => !kept.Contains(m.BackupId)))
        {
            // Object Lock: the store would refuse anyway, and a half-deleted set is worse than a kept one.
            if (await target.LockedUntilAsync(manifest.BackupId, ct) is { } until && until > now)
            {
                locked.Add($"{manifest.BackupId} (locked until {until:O})");
                continue;
            }
            await DeleteSetAsync(manifest.BackupId, ct);
            deleted.Add(manifest.BackupId);
        }

        var incompleteDeleted = new List<string>();
        foreach (var entry in catalog.Entries.Where(e => !e.Complete))
        {
            if (BackupCatalog.CreatedAt(entry) is { } started && now - started > IncompleteGrace)
            {
                if (await target.LockedUntilAsync(entry.Id, ct) is { } until && until > now)
                {
                    locked.Add($"{entry.Id} (locked until {until:O})");
                    continue;
                }
                await DeleteSetAsync(entry.Id, ct);
                incompleteDeleted.Add(entry.Id);
            }
        }

        return new RetentionResult(
            newestFirst.Where(m => wanted.Contains(m.BackupId)).Select(m => m.BackupId).ToList(),
            newestFirst.Where(m => kept.Contains(m.BackupId) && !wanted.Contains(m.BackupId)).Select(m => m.BackupId).ToList(),
            deleted,
            incompleteDeleted,
            locked);
    }

    private async Task DeleteSetAsync(string id, CancellationToken ct)
    {
        // The manifest first: a set half deleted is then merely incomplete, never a backup with missing segments.
        var objects = await target.ListObjectsAsync(id, ct);
        if (objects.Any(o => o.Name == BackupManifest.FileName))
        {
            await target.DeleteAsync(id, BackupManifest.FileName, ct);
        }
        foreach (var stored in objects.Where(o => o.Name != BackupManifest.FileName))
        {
            await target.DeleteAsync(id, stored.Name, ct);
        }
    }
}
