namespace MaestroSla.Backup.Validating;

/// <summary>Segments do not match their manifest: nothing was written from them.</summary>
public sealed class BackupCorruptException(string backupId, IReadOnlyList<string> badSegments, IReadOnlyList<string> problems)
    : Exception($"Backup {backupId} cannot be used: {string.Join("; ", problems)}")
{
    public string BackupId { get; } = backupId;

    /// <summary>"set/segment" of every segment that failed its check.</summary>
    public IReadOnlyList<string> BadSegments { get; } = badSegments;

    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>The backup is missing, incomplete, or lacks part of the chain it builds on.</summary>
public sealed class BackupNotRestorableException(string backupId, string problem) : Exception(problem)
{
    public string BackupId { get; } = backupId;
}
