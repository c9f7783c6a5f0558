using System.IO.Compression;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;

namespace MaestroSla.Backup;

/// <summary>Configuration section "Backup": where backup sets go and how they are cut.</summary>
public sealed class BackupOptions : BackupTargetOptions
{
    public const string Section = "Backup";

    /// <summary>A second target for cross-region copies (POST /api/admin/backups/{id}/replicate); none when null.</summary>
    public BackupTargetOptions? Replica { get; set; }

    /// <summary>
    /// Databases restores may go to, by name (POST /api/admin/restores {"target": "staging"}), so callers need not
    /// send connection strings; "default" is used when a request names none.
    /// </summary>
    public Dictionary<string, string> RestoreTargets { get; set; } = [];

    /// <summary>Events per segment: bounds the memory and the work lost to a failed upload, not the backup size.</summary>
    public int SegmentEvents { get; set; } = 100_000;

    /// <summary>
    /// gzip effort. Fastest compresses the event log about as well as Optimal (most bytes are base64 histograms
    /// and repeated JSON names) at several times the speed.
    /// </summary>
    public CompressionLevel Compression { get; set; } = CompressionLevel.Fastest;

    /// <summary>
    /// A hole in the event sequence older than this is taken for a rolled-back append, not an append still in
    /// flight, when Marten's own high-water mark (kept by the async daemon) has not moved past it yet.
    /// </summary>
    public TimeSpan DeadGapAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Events per page when a restore rebuilds the projections.</summary>
    public int RebuildBatchSize { get; set; } = 5_000;

    /// <summary>How long a restore waits for the rebuilt projections to catch up.</summary>
    public TimeSpan RebuildTimeout { get; set; } = TimeSpan.FromMinutes(30);

    public BackupEncryptionOptions Encryption { get; set; } = new();

    public BackupSigningOptions Signing { get; set; } = new();

    private BackupKeyring? _keyring;

    /// <summary>The keys configured under Encryption and Signing, read once.</summary>
    public BackupKeyring Keyring() => _keyring ??= BackupKeyring.From(this);

    public string? Problem() =>
        KeyProblem() is { } keys ? keys
        : Encryption.FrameBytes is < 4096 or > SealedFile.MaxFrameBytes ? "Backup:Encryption:FrameBytes must be between 4096 and 16 MiB"
        : SegmentEvents < 1 ? "Backup:SegmentEvents must be positive"
        : RebuildBatchSize < 1 ? "Backup:RebuildBatchSize must be positive"
        : DeadGapAfter < TimeSpan.Zero ? "Backup:DeadGapAfter must not be negative"
        : TargetProblem("Backup") ?? Replica?.TargetProblem("Backup:Replica");

    private string? KeyProblem()
    {
        try
        {
            Keyring();
            return null;
        }
        catch (BackupKeyConfigurationException ex)
        {
            return ex.Message;
        }
    }
}
