using System.Security.Cryptography;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MaestroSla.Backup.Rekeying;

/// <param name="KeyId">The key every rekeyed set is now sealed with.</param>
/// <param name="Rekeyed">Sets re-sealed (and re-signed).</param>
/// <param name="AlreadyCurrent">Sets already sealed and signed with the current keys.</param>
/// <param name="Refused">Sets that did not validate before the rekey, with why: they are left as they are.</param>
public sealed record RekeyResult(string KeyId, IReadOnlyList<string> Rekeyed, IReadOnlyList<string> AlreadyCurrent, IReadOnlyList<string> Refused, long BytesWritten);

/// <summary>
/// Re-seals every complete set with the current key and re-signs its manifest, oldest first: for each set the new
/// segments are written beside the old ones (under new names, since a sealed file is bound to its name), read back
/// and checked, then the new manifest replaces the old one, and only then are the old segments deleted. A set that
/// does not validate first is not touched: rekeying must never launder a forged set into a signed one.
/// </summary>
public sealed class BackupRekey(IBackupTarget target, BackupOptions options, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    public async Task<RekeyResult> RunAsync(CancellationToken ct)
    {
        var keys = options.Keyring();
        var current = keys.Current ?? throw new BackupKeyConfigurationException("rekey needs the key to seal with: Backup:Encryption:Key (old keys go to PreviousKeys)");
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        var validator = new BackupValidator(target, keys);

        // Every chain is checked before anything changes: the old segments are gone once their set is rewritten.
        var valid = new Dictionary<string, BackupValidation>(StringComparer.Ordinal);
        foreach (var manifest in catalog.Complete)
        {
            valid[manifest.BackupId] = await validator.ValidateAsync(catalog, manifest.BackupId, replay: false, ct);
        }

        var rekeyed = new List<string>();
        var alreadyCurrent = new List<string>();
        var refused = new List<string>();
        var newManifestHashes = new Dictionary<string, string>(StringComparer.Ordinal);
        long bytes = 0;
        var work = Directory.CreateTempSubdirectory("maestrosla-rekey-").FullName;
        try
        {
            foreach (var manifest in catalog.Complete)
            {
                var parentHash = manifest.ParentId is { } parentId ? newManifestHashes.GetValueOrDefault(parentId) : null;
                if (IsCurrent(manifest, keys, current) && parentHash is null)
                {
                    alreadyCurrent.Add(manifest.BackupId);
                    continue;
                }
                if (!valid[manifest.BackupId].Valid)
                {
                    refused.Add($"{manifest.BackupId}: {string.Join("; ", valid[manifest.BackupId].Problems)}");
                    continue;
                }

                var segments = new List<BackupSegment>();
                foreach (var segment in manifest.Segments)
                {
                    var resealed = await ResealAsync(manifest, segment, keys, current, work, ct);
                    segments.Add(resealed);
                    bytes += resealed.Bytes;
                }
                var oldHash = catalog.Find(manifest.BackupId)!.ManifestSha256!;
                var replacement = ManifestSigning.Sign(manifest with
                {
                    FormatVersion = BackupManifest.CurrentFormatVersion,
                    Segments = segments,
                    Encryption = new BackupEncryption(SealedFile.Algorithm, current.Id, options.Encryption.FrameBytes),
                    ParentManifestSha256 = parentHash ?? manifest.ParentManifestSha256,
                    ReplacesManifests = [.. manifest.ReplacesManifests ?? [], oldHash],
                }, keys);
                var manifestBytes = replacement.ToUtf8Json();
                // Last: until now the old manifest and its segments are the set; from now on the new ones are.
                await target.PutBytesAsync(manifest.BackupId, BackupManifest.FileName, manifestBytes, ct);
                newManifestHashes[manifest.BackupId] = Convert.ToHexStringLower(SHA256.HashData(manifestBytes));
                var keep = segments.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
                foreach (var old in manifest.Segments.Where(s => !keep.Contains(s.Name)))
                {
                    await target.DeleteAsync(manifest.BackupId, old.Name, ct);
                }
                rekeyed.Add(manifest.BackupId);
                _logger.LogInformation("Backup {Id} re-sealed with key {KeyId} ({Segments} segments)", manifest.BackupId, current.Id, segments.Count);
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        return new RekeyResult(current.Id, rekeyed, alreadyCurrent, refused, bytes);
    }

    private static bool IsCurrent(BackupManifest manifest, BackupKeyring keys, BackupKey current) =>
        manifest.Encryption?.KeyId == current.Id
        && manifest.Signature is { } signature
        && (keys.Signer is not null
            ? signature.Algorithm == BackupKeyring.EcdsaAlgorithm && signature.KeyId == keys.SignerId
            : signature.Algorithm == BackupKeyring.HmacAlgorithm && signature.KeyId == current.Id);

    /// <summary>Old bytes checked against the manifest while re-sealed; the new object read back and checked before it counts.</summary>
    private async Task<BackupSegment> ResealAsync(BackupManifest manifest, BackupSegment segment, BackupKeyring keys, BackupKey current, string work, CancellationToken ct)
    {
        var name = RekeyedName(segment.Name, current.Id);
        var local = Path.Combine(work, name);
        string sha256;
        long length;
        await using (var source = new SegmentSource(await target.OpenReadAsync(manifest.BackupId, segment.Name, ct), manifest, segment, keys))
        {
            await using (var file = new FileStream(local, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            await using (var hashing = new HashingStream(file, leaveOpen: true))
            await using (var sealing = new SealingStream(hashing, current, SealedFile.Identity(manifest.BackupId, name), options.Encryption.FrameBytes, leaveOpen: true))
            {
                await source.Compressed.CopyToAsync(sealing, ct);
                await sealing.FinishAsync(ct);
                sha256 = hashing.Sha256Hex();
                length = hashing.Length64;
            }
            await source.DrainAsync(ct);
            if (source.Hashing.Length64 != segment.Bytes || !string.Equals(source.Hashing.Sha256Hex(), segment.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new BackupCorruptException(manifest.BackupId, [$"{manifest.BackupId}/{segment.Name}"],
                    [$"{manifest.BackupId}/{segment.Name}: changed while being re-sealed"]);
            }
        }
        await target.PutFileAsync(manifest.BackupId, name, local, ct);
        File.Delete(local);

        var resealed = segment with { Name = name, Bytes = length, Sha256 = sha256 };
        var check = manifest with { Encryption = new BackupEncryption(SealedFile.Algorithm, current.Id, options.Encryption.FrameBytes) };
        await using (var stored = new SegmentSource(await target.OpenReadAsync(manifest.BackupId, name, ct), check, resealed, keys))
        {
            await stored.DrainAsync(ct);
            if (stored.Hashing.Length64 != length || stored.Hashing.Sha256Hex() != sha256)
            {
                throw new IOException($"{manifest.BackupId}/{name} did not read back as written");
            }
        }
        return resealed;
    }

    /// <summary>events-000001.ndjson.gz → events-000001.k{keyid}.ndjson.gz (a sealed file is bound to its name).</summary>
    internal static string RekeyedName(string name, string keyId)
    {
        var parts = name.Split('.');
        var rest = parts.Skip(1).Where(p => !(p.Length == 17 && p[0] == 'k'));
        return string.Join('.', new[] { parts[0], $"k{keyId}" }.Concat(rest));
    }
}
