using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MaestroSla.Backup.Replicating;

public sealed record ReplicationResult(
    string BackupId,
    string Source,
    string Destination,
    IReadOnlyList<string> Copied,
    IReadOnlyList<string> AlreadyThere,
    long BytesCopied,
    BackupValidation Validation);

/// <summary>
/// Copies a backup and the chain it needs to a second target (another region, another provider), each set
/// segments first and manifest last, checking every segment's SHA-256 on the way, then validates the copy there.
/// Sets already on the destination with the same manifest are not copied again.
/// </summary>
public sealed class BackupReplicator(IBackupTarget source, IBackupTarget destination, ILogger? logger = null, Security.BackupKeyring? keys = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public async Task<ReplicationResult> ReplicateAsync(string backupId, CancellationToken ct)
    {
        var sourceCatalog = await BackupCatalog.LoadAsync(source, ct);
        var (chain, problem) = sourceCatalog.ChainOf(backupId);
        if (problem is not null)
        {
            throw new BackupNotRestorableException(backupId, problem);
        }

        var destinationCatalog = await BackupCatalog.LoadAsync(destination, ct);
        var copied = new List<string>();
        var alreadyThere = new List<string>();
        long bytes = 0;
        var workDirectory = Directory.CreateTempSubdirectory("maestrosla-replicate-").FullName;
        try
        {
            foreach (var manifest in chain)
            {
                if (destinationCatalog.Find(manifest.BackupId)?.Manifest is { } existing && SameContent(existing, manifest))
                {
                    alreadyThere.Add(manifest.BackupId);
                    continue;
                }
                foreach (var segment in manifest.Segments)
                {
                    bytes += await CopySegmentAsync(manifest.BackupId, segment, workDirectory, ct);
                }
                // The manifest's stored bytes, not a re-serialization: its hash is what a child pins and its
                // signature covers.
                await destination.PutBytesAsync(manifest.BackupId, BackupManifest.FileName, await ReadManifestAsync(manifest.BackupId, ct), ct);
                copied.Add(manifest.BackupId);
                _logger.LogInformation("Replicated backup {Id} ({Bytes} bytes so far) from {Source} to {Destination}",
                    manifest.BackupId, bytes, source.Description, destination.Description);
            }
        }
        finally
        {
            Directory.Delete(workDirectory, recursive: true);
        }

        var validation = await new BackupValidator(destination, keys).ValidateAsync(backupId, replay: false, ct);
        return new ReplicationResult(backupId, source.Description, destination.Description, copied, alreadyThere, bytes, validation);
    }

    private async Task<long> CopySegmentAsync(string setId, BackupSegment segment, string workDirectory, CancellationToken ct)
    {
        var local = Path.Combine(workDirectory, segment.Name);
        await using (var stream = await source.OpenReadAsync(setId, segment.Name, ct))
        await using (var hashing = new HashingStream(stream))
        await using (var file = new FileStream(local, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await hashing.CopyToAsync(file, ct);
            // Never spread a corrupt segment: the copy would validate as badly as the original, but later.
            if (hashing.Length64 != segment.Bytes || !string.Equals(hashing.Sha256Hex(), segment.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new BackupCorruptException(setId, [$"{setId}/{segment.Name}"], [$"{setId}/{segment.Name}: does not match its manifest on {source.Description}"]);
            }
        }
        await destination.PutFileAsync(setId, segment.Name, local, ct);
        File.Delete(local);
        return segment.Bytes;
    }

    private async Task<byte[]> ReadManifestAsync(string setId, CancellationToken ct)
    {
        await using var stream = await source.OpenReadAsync(setId, BackupManifest.FileName, ct);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    private static bool SameContent(BackupManifest a, BackupManifest b) =>
        a.SequenceFrom == b.SequenceFrom && a.SequenceTo == b.SequenceTo && a.Segments.Count == b.Segments.Count
        && a.Signature == b.Signature
        && a.Segments.Zip(b.Segments).All(p => p.First.Name == p.Second.Name && p.First.Sha256 == p.Second.Sha256);
}
