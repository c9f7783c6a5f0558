using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>A set on the backup target, complete or not, and whether it can be restored.</summary>
public sealed record BackupListing(
    string Id,
    bool Complete,
    string? Problem,
    BackupType? Type,
    string? ParentId,
    DateTimeOffset? CreatedAt,
    long? SequenceFrom,
    long? SequenceTo,
    long? Events,
    long? Bytes,
    int? Segments,
    bool Restorable,
    string? ChainProblem,
    BackupValidation? Validation,
    string? StoreId = null,
    int? Timeline = null,
    bool ThisStore = false,
    bool ThisTimeline = false,
    string? KeyId = null,
    string? SignedWith = null,
    string? FullBecause = null);

public static class ListBackupsEndpoint
{
    /// <summary>Every set on the target; ?verify=true also checks every segment's checksum (reads everything).</summary>
    [WolverineGet("/api/admin/backups")]
    public static async Task<IReadOnlyList<BackupListing>> Get(bool? verify, IBackupTarget target, BackupValidator validator, IDocumentStore store, CancellationToken ct)
    {
        var identity = await StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        var listings = new List<BackupListing>();
        foreach (var entry in catalog.Entries.Reverse())
        {
            var manifest = entry.Manifest;
            var chainProblem = entry.Complete ? catalog.ChainOf(entry.Id).Problem : null;
            var validation = verify == true && entry.Complete ? await validator.ValidateAsync(catalog, entry.Id, replay: false, ct) : null;
            listings.Add(new BackupListing(
                entry.Id, entry.Complete, entry.Problem, manifest?.Type, manifest?.ParentId, BackupCatalog.CreatedAt(entry),
                manifest?.SequenceFrom, manifest?.SequenceTo, manifest?.EventCount, manifest?.TotalBytes, manifest?.Segments.Count,
                entry.Complete && chainProblem is null && validation?.Valid != false, chainProblem, validation,
                manifest?.StoreId, manifest?.Timeline, manifest is not null && identity.SameStore(manifest), manifest is not null && identity.Made(manifest),
                manifest?.Encryption?.KeyId, manifest?.Signature is { } signature ? $"{signature.Algorithm} {signature.KeyId}" : null, manifest?.FullBecause));
        }
        return listings;
    }
}
