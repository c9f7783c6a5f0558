using System.IO.Compression;
using System.Text.Json;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;

namespace MaestroSla.Backup.Validating;

/// <summary>The verdict on one backup and the chain it needs. Bad segments are named "set/segment".</summary>
public sealed record BackupValidation(
    string BackupId,
    bool Valid,
    IReadOnlyList<string> Chain,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> BadSegments,
    int SegmentsChecked,
    long BytesChecked,
    long EventsReplayed);

/// <summary>
/// Checks a backup as a restore would need it: its manifest and every ancestor's are there and join up back to a
/// full backup of the same store and timeline, every segment of the chain has the size and SHA-256 its manifest
/// recorded, sealed segments authenticate frame by frame under a configured key, and — when keys are configured —
/// every manifest is signed (or pinned by a signed child through its parent hash) and every parent is the very
/// manifest its child was made on. The optional replay check also decompresses and parses every line and compares
/// event counts and sequence ranges. Problems name the file: "set/segment" or "set/manifest.json".
/// </summary>
public sealed class BackupValidator(IBackupTarget target, BackupKeyring? keys = null)
{
    private readonly BackupKeyring _keys = keys ?? BackupKeyring.None;

    public async Task<BackupValidation> ValidateAsync(string backupId, bool replay, CancellationToken ct) =>
        await ValidateAsync(await BackupCatalog.LoadAsync(target, ct), backupId, replay, stagingDirectory: null, ct);

    /// <summary>Against a catalog already read (listing many backups reads the target's manifests once).</summary>
    public Task<BackupValidation> ValidateAsync(BackupCatalog catalog, string backupId, bool replay, CancellationToken ct) =>
        ValidateAsync(catalog, backupId, replay, stagingDirectory: null, ct);

    /// <param name="stagingDirectory">When set, every checked segment is also copied there (as set/segment), so a
    /// restore from a remote target reads each byte over the network once and replays exactly what it checked.</param>
    internal async Task<BackupValidation> ValidateAsync(
        BackupCatalog catalog, string backupId, bool replay, string? stagingDirectory, CancellationToken ct)
    {
        var entry = catalog.Find(backupId);
        if (entry is null)
        {
            return new BackupValidation(backupId, false, [], [$"backup {backupId} does not exist on {target.Description}"], [], 0, 0, 0);
        }
        if (!entry.Complete)
        {
            return new BackupValidation(backupId, false, [], [$"{backupId} is not a complete backup: {entry.Problem}"], [], 0, 0, 0);
        }

        var problems = new List<string>();
        var bad = new List<string>();
        var (chain, chainProblem) = catalog.ChainOf(backupId);
        if (chainProblem is not null)
        {
            problems.Add($"chain incomplete: {chainProblem}");
            chain = [entry.Manifest!];
        }

        var unusable = CheckManifests(catalog, chain, problems, bad);

        int segments = 0;
        long bytes = 0, replayed = 0;
        foreach (var manifest in chain)
        {
            var listed = manifest.Segments.Where(s => s.Kind == SegmentKinds.Events).Sum(s => s.Events);
            if (listed != manifest.EventCount)
            {
                problems.Add($"{manifest.BackupId}: manifest counts {manifest.EventCount} events but its segments {listed}");
            }
            var readable = !unusable.Contains(manifest.BackupId);
            foreach (var segment in manifest.Segments)
            {
                var check = await CheckSegmentAsync(manifest, segment, replay && readable, readable, stagingDirectory, ct);
                segments++;
                bytes += check.Bytes;
                replayed += check.Events;
                if (check.Problem is not null)
                {
                    bad.Add($"{manifest.BackupId}/{segment.Name}");
                    problems.Add($"{manifest.BackupId}/{segment.Name}: {check.Problem}");
                }
            }
        }
        return new BackupValidation(backupId, problems.Count == 0, chain.Select(m => m.BackupId).ToList(), problems, bad, segments, bytes, replayed);
    }

    /// <summary>Keys, signatures and parent pins; returns the sets whose segments cannot be unsealed here (no key).</summary>
    private HashSet<string> CheckManifests(BackupCatalog catalog, IReadOnlyList<BackupManifest> chain, List<string> problems, List<string> bad)
    {
        var unusable = new HashSet<string>(StringComparer.Ordinal);
        void Bad(BackupManifest manifest, string problem)
        {
            var file = $"{manifest.BackupId}/{BackupManifest.FileName}";
            if (!bad.Contains(file))
            {
                bad.Add(file);
            }
            problems.Add($"{file}: {problem}");
        }

        // From the top: a set is trusted when its signature holds, or when a trusted child pins its manifest.
        var pinnedByTrustedChild = false;
        for (var i = chain.Count - 1; i >= 0; i--)
        {
            var manifest = chain[i];
            if (manifest.Encryption is { } encryption && _keys.Find(encryption.KeyId) is null)
            {
                unusable.Add(manifest.BackupId);
                Bad(manifest, $"its segments are sealed with key {encryption.KeyId}, which is not configured (Backup:Encryption:Key or PreviousKeys)");
            }

            bool trusted;
            if (manifest.Signature is not null)
            {
                var problem = ManifestSigning.Problem(manifest, _keys);
                trusted = problem is null;
                if (!trusted)
                {
                    Bad(manifest, problem!);
                }
            }
            else
            {
                trusted = pinnedByTrustedChild;
                if (!trusted && _keys.Verifies && !_keys.AcceptUnsigned)
                {
                    Bad(manifest, "is not signed, and no signed set pins it (Backup:Signing:AcceptUnsigned accepts such sets)");
                }
            }

            pinnedByTrustedChild = false;
            if (i > 0)
            {
                var parent = chain[i - 1];
                var stored = catalog.Find(parent.BackupId)?.ManifestSha256;
                if (manifest.ParentManifestSha256 is { } pinned)
                {
                    // A parent re-sealed by rekey names the manifests it replaced; only its (checked) signature makes that count.
                    var replaced = parent.Signature is not null && ManifestSigning.Problem(parent, _keys) is null
                        && parent.ReplacesManifests?.Contains(pinned, StringComparer.OrdinalIgnoreCase) == true;
                    if (!string.Equals(pinned, stored, StringComparison.OrdinalIgnoreCase) && !replaced)
                    {
                        Bad(parent, $"replaced: {manifest.BackupId} was made on a parent manifest with SHA-256 {pinned}, this one has {stored}");
                    }
                    else
                    {
                        pinnedByTrustedChild = trusted;
                    }
                }
            }
        }
        return unusable;
    }

    private async Task<(long Bytes, long Events, string? Problem)> CheckSegmentAsync(
        BackupManifest manifest, BackupSegment segment, bool replay, bool unseal, string? stagingDirectory, CancellationToken ct)
    {
        Stream stored;
        try
        {
            stored = await target.OpenReadAsync(manifest.BackupId, segment.Name, ct);
        }
        catch (BackupObjectMissingException)
        {
            return (0, 0, "missing");
        }

        var sealed_ = manifest.Encryption is not null;
        await using var source = new SegmentSource(stored, manifest, segment, _keys);
        long events = 0;
        string? readProblem = null;
        string? staged = null;
        try
        {
            if (stagingDirectory is not null)
            {
                var directory = Directory.CreateDirectory(Path.Combine(stagingDirectory, manifest.BackupId)).FullName;
                staged = Path.Combine(directory, segment.Name);
                await using var file = new FileStream(staged, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
                await source.Hashing.CopyToAsync(file, ct);
            }
            else if (replay)
            {
                events = segment.Kind == SegmentKinds.Events
                    ? await ReplayEventsAsync(source.Compressed, manifest, segment, ct)
                    : await ReplayStateAsync(source.Compressed, ct);
                await source.DrainAsync(ct);
            }
            else if (sealed_ && unseal)
            {
                // Authenticating every frame costs little (AES-GCM at GB/s) and catches what a hash alone cannot
                // tell: a frame that is not this file's.
                await source.DrainAsync(ct);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or FormatException or InvalidOperationException or BackupSealException)
        {
            readProblem = ex is BackupSealException ? ex.Message : $"unreadable: {ex.Message}";
        }
        await source.Hashing.DrainAsync(ct);

        if (staged is not null && sealed_ && unseal && readProblem is null)
        {
            readProblem = await AuthenticateAsync(staged, manifest, segment, ct);
        }

        var sha256 = source.Hashing.Sha256Hex();
        if (source.Hashing.Length64 != segment.Bytes)
        {
            return (source.Hashing.Length64, events, $"{source.Hashing.Length64} bytes stored, {segment.Bytes} expected");
        }
        if (!string.Equals(sha256, segment.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return (source.Hashing.Length64, events, $"SHA-256 mismatch (stored {sha256}, manifest {segment.Sha256})");
        }
        return (source.Hashing.Length64, events, readProblem);
    }

    private async Task<string?> AuthenticateAsync(string path, BackupManifest manifest, BackupSegment segment, CancellationToken ct)
    {
        try
        {
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using var source = new SegmentSource(file, manifest, segment, _keys);
            await source.DrainAsync(ct);
            return null;
        }
        catch (BackupSealException ex)
        {
            return ex.Message;
        }
    }
    private static async Task<long> ReplayEventsAsync(Stream compressed, BackupManifest manifest, BackupSegment segment, CancellationToken ct)
    {
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        using var lines = new NdjsonLineReader(gzip);
        var record = new EventRecord();
        long events = 0, previous = manifest.SequenceFrom;
        while (await lines.ReadLineAsync(ct))
        {
            record.Parse(lines.Line);
            if (record.Sequence <= previous || record.Sequence > manifest.SequenceTo)
            {
                throw new InvalidDataException($"line {lines.LineNumber}: sequence {record.Sequence} out of order or outside ({manifest.SequenceFrom}, {manifest.SequenceTo}]");
            }
            if (events == 0 && record.Sequence != segment.FirstSequence)
            {
                throw new InvalidDataException($"starts at sequence {record.Sequence}, manifest says {segment.FirstSequence}");
            }
            previous = record.Sequence;
            events++;
        }
        if (events != segment.Events || (events > 0 && previous != segment.LastSequence))
        {
            throw new InvalidDataException($"{events} events ending at sequence {previous}; manifest says {segment.Events} ending at {segment.LastSequence}");
        }
        return events;
    }

    private static async Task<long> ReplayStateAsync(Stream compressed, CancellationToken ct)
    {
        await BackupState.ReadAsync(compressed, ct);
        return 0;
    }
}
