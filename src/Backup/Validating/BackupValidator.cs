using System.IO.Compression;
using System.Text.Json;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
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
/// full backup, and every segment of the chain has the size and SHA-256 its manifest recorded. The optional replay
/// check also decompresses and parses every line and compares event counts and sequence ranges.
/// </summary>
public sealed class BackupValidator(IBackupTarget target)
{
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

        int segments = 0;
        long bytes = 0, replayed = 0;
        foreach (var manifest in chain)
        {
            var listed = manifest.Segments.Where(s => s.Kind == SegmentKinds.Events).Sum(s => s.Events);
            if (listed != manifest.EventCount)
            {
                problems.Add($"{manifest.BackupId}: manifest counts {manifest.EventCount} events but its segments {listed}");
            }
            foreach (var segment in manifest.Segments)
            {
                var check = await CheckSegmentAsync(manifest, segment, replay, stagingDirectory, ct);
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

    private async Task<(long Bytes, long Events, string? Problem)> CheckSegmentAsync(
        BackupManifest manifest, BackupSegment segment, bool replay, string? stagingDirectory, CancellationToken ct)
    {
        Stream source;
        try
        {
            source = await target.OpenReadAsync(manifest.BackupId, segment.Name, ct);
        }
        catch (BackupObjectMissingException)
        {
            return (0, 0, "missing");
        }

        await using var hashing = new HashingStream(source);
        long events = 0;
        string? replayProblem = null;
        if (stagingDirectory is not null)
        {
            var directory = Directory.CreateDirectory(Path.Combine(stagingDirectory, manifest.BackupId)).FullName;
            await using var staged = new FileStream(Path.Combine(directory, segment.Name), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await hashing.CopyToAsync(staged, ct);
        }
        else if (replay)
        {
            try
            {
                events = segment.Kind == SegmentKinds.Events
                    ? await ReplayEventsAsync(hashing, manifest, segment, ct)
                    : await ReplayStateAsync(hashing, ct);
            }
            catch (Exception ex) when (ex is InvalidDataException or JsonException or FormatException or InvalidOperationException)
            {
                replayProblem = $"unreadable: {ex.Message}";
            }
            await hashing.DrainAsync(ct);
        }
        else
        {
            await hashing.DrainAsync(ct);
        }

        var sha256 = hashing.Sha256Hex();
        if (hashing.Length64 != segment.Bytes)
        {
            return (hashing.Length64, events, $"{hashing.Length64} bytes stored, {segment.Bytes} expected");
        }
        if (!string.Equals(sha256, segment.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            return (hashing.Length64, events, $"SHA-256 mismatch (stored {sha256}, manifest {segment.Sha256})");
        }
        return (hashing.Length64, events, replayProblem);
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
