using System.Globalization;
using System.Text.Json;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Targets;

namespace MaestroSla.Backup.Catalog;

/// <summary>A set found on a target: complete when its manifest is there and readable.</summary>
/// <param name="ManifestSha256">SHA-256 of the manifest as stored: what a child's ParentManifestSha256 pins.</param>
public sealed record BackupEntry(string Id, BackupManifest? Manifest, string? Problem, string? ManifestSha256 = null)
{
    public bool Complete => Manifest is not null && Problem is null;
}

/// <summary>
/// What a target holds, read once: every set, its manifest, and how sets chain (incrementals and differentials
/// back to a full). Only manifests are read here; checksums are <see cref="Validating.BackupValidator"/>'s job.
/// </summary>
public sealed class BackupCatalog
{
    private readonly Dictionary<string, BackupEntry> _byId;

    private BackupCatalog(List<BackupEntry> entries)
    {
        Entries = entries;
        _byId = entries.ToDictionary(e => e.Id, StringComparer.Ordinal);
    }

    /// <summary>Oldest first (complete sets by their manifest's order, incomplete ones by id, which starts with the time).</summary>
    public IReadOnlyList<BackupEntry> Entries { get; }

    public IEnumerable<BackupManifest> Complete => Entries.Where(e => e.Complete).Select(e => e.Manifest!);

    public static async Task<BackupCatalog> LoadAsync(IBackupTarget target, CancellationToken ct)
    {
        var entries = new List<BackupEntry>();
        foreach (var id in await target.ListSetsAsync(ct))
        {
            entries.Add(await ReadEntryAsync(target, id, ct));
        }
        entries.Sort(Compare);
        return new BackupCatalog(entries);
    }

    public BackupEntry? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// The sets to replay for <paramref name="id"/>, the full one first, or why there are none: a missing or
    /// incomplete ancestor, or sequence ranges that do not join up.
    /// </summary>
    public (IReadOnlyList<BackupManifest> Chain, string? Problem) ChainOf(string id)
    {
        var chain = new List<BackupManifest>();
        var current = id;
        while (true)
        {
            if (!_byId.TryGetValue(current, out var entry))
            {
                return ([], current == id ? $"backup {id} does not exist" : $"{current}, on which {id} depends, does not exist");
            }
            if (!entry.Complete)
            {
                return ([], $"{current}{(current == id ? "" : $", on which {id} depends,")} is not complete: {entry.Problem}");
            }
            var manifest = entry.Manifest!;
            if (chain.Count > 0 && (!string.Equals(chain[^1].StoreId, manifest.StoreId, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(chain[^1].TimelineId, manifest.TimelineId, StringComparison.OrdinalIgnoreCase)))
            {
                return ([], $"{chain[^1].BackupId} ({Describe(chain[^1])}) builds on {current} ({Describe(manifest)}): a chain never mixes stores or timelines");
            }
            if (chain.Count > 0 && chain[^1].SequenceFrom != manifest.SequenceTo)
            {
                return ([], $"{chain[^1].BackupId} starts after sequence {chain[^1].SequenceFrom} but its parent {current} ends at {manifest.SequenceTo}");
            }
            chain.Add(manifest);
            if (manifest.Type == BackupType.Full)
            {
                if (manifest.SequenceFrom != 0)
                {
                    return ([], $"full backup {current} does not start at the beginning of the event log");
                }
                chain.Reverse();
                return (chain, null);
            }
            if (manifest.ParentId is null || chain.Count > _byId.Count)
            {
                return ([], $"{current} has no parent to build on");
            }
            current = manifest.ParentId;
        }
    }

    public bool IsRestorable(string id) => ChainOf(id).Problem is null;

    /// <summary>The newest (by creation time) complete set whose chain is whole, of any store.</summary>
    public BackupManifest? NewestRestorable(BackupType? type = null) =>
        Complete.Where(m => type is null || m.Type == type).Reverse().FirstOrDefault(m => IsRestorable(m.BackupId));

    /// <summary>What an incremental or differential of <paramref name="identity"/> builds on: its own store and timeline only.</summary>
    public BackupManifest? NewestRestorable(StoreIdentity identity, BackupType? type = null) =>
        Complete.Where(m => identity.Made(m) && (type is null || m.Type == type)).Reverse().FirstOrDefault(m => IsRestorable(m.BackupId));

    /// <summary>
    /// "The latest" for a restore asked by <paramref name="identity"/>: the newest restorable set of its own
    /// timeline, else of its store's other timelines (the one it was restored from). Never another store's.
    /// </summary>
    public BackupManifest? LatestFor(StoreIdentity identity) =>
        NewestRestorable(identity)
        ?? Complete.Where(identity.SameStore).Reverse().FirstOrDefault(m => IsRestorable(m.BackupId));

    /// <summary>The highest timeline any set of <paramref name="storeId"/> on this target was made on.</summary>
    public int HighestTimeline(string? storeId) =>
        Complete.Where(m => m.StoreId is not null && string.Equals(m.StoreId, storeId, StringComparison.OrdinalIgnoreCase))
            .Select(m => m.Timeline ?? 1).DefaultIfEmpty(0).Max();

    public static string Describe(BackupManifest manifest) =>
        manifest.StoreId is null ? "no store recorded (made before format 2)" : $"store {manifest.StoreId} timeline {manifest.Timeline}";

    private static async Task<BackupEntry> ReadEntryAsync(IBackupTarget target, string id, CancellationToken ct)
    {
        byte[] bytes;
        string sha256;
        try
        {
            await using var stream = await target.OpenReadAsync(id, BackupManifest.FileName, ct);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct);
            bytes = buffer.ToArray();
            sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        }
        catch (BackupObjectMissingException)
        {
            return new BackupEntry(id, null, "no manifest: the backup was interrupted or is still being written");
        }
        try
        {
            var manifest = BackupManifest.Parse(bytes);
            return manifest.FormatVersion > BackupManifest.CurrentFormatVersion
                ? new BackupEntry(id, null, $"manifest format {manifest.FormatVersion} is newer than this version reads ({BackupManifest.CurrentFormatVersion})")
                : manifest.BackupId != id
                    ? new BackupEntry(id, null, $"manifest names backup {manifest.BackupId}, not {id}")
                    : new BackupEntry(id, manifest, null, sha256);
        }
        catch (JsonException ex)
        {
            return new BackupEntry(id, null, $"manifest unreadable: {ex.Message}");
        }
    }

    /// <summary>
    /// By creation time: sequence numbers of different stores (or timelines) sharing a target say nothing about
    /// which set is newer. Within one store a later backup never ends below an earlier one.
    /// </summary>
    private static int Compare(BackupEntry a, BackupEntry b)
    {
        if (a.Manifest is { } x && b.Manifest is { } y)
        {
            return x.CreatedAt != y.CreatedAt ? x.CreatedAt.CompareTo(y.CreatedAt)
                : x.SequenceTo != y.SequenceTo ? x.SequenceTo.CompareTo(y.SequenceTo)
                : string.CompareOrdinal(a.Id, b.Id);
        }
        var byTime = (CreatedAt(a) ?? DateTimeOffset.MinValue).CompareTo(CreatedAt(b) ?? DateTimeOffset.MinValue);
        return byTime != 0 ? byTime : string.CompareOrdinal(a.Id, b.Id);
    }

    /// <summary>When a set was started: from its manifest, else from its id (which begins with that time).</summary>
    public static DateTimeOffset? CreatedAt(BackupEntry entry) =>
        entry.Manifest?.CreatedAt ?? BackupIds.StartedAt(entry.Id);
}

/// <summary>Backup ids sort by time and say what they are: 20261128T004500123Z-incremental-3f2a.</summary>
public static class BackupIds
{
    private const string TimeFormat = "yyyyMMdd'T'HHmmssfff'Z'";

    public static string New(BackupType type, DateTimeOffset now) =>
        $"{now.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}-{type.ToString().ToLowerInvariant()}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2))}";

    public static DateTimeOffset? StartedAt(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && DateTime.TryParseExact(id[..dash], TimeFormat, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? new DateTimeOffset(time, TimeSpan.Zero)
            : null;
    }
}
