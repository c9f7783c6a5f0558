namespace MaestroSla.Backup.Targets;

/// <summary>One stored file of a backup set.</summary>
public sealed record StoredObject(string Name, long Bytes);

/// <summary>
/// Where backup sets live: a set is a folder (or key prefix) named by its backup id holding segments and,
/// written last, its manifest. Targets store and return bytes; checking them is the caller's job.
/// </summary>
public interface IBackupTarget
{
    /// <summary>Where this is, for people: "folder /var/backups" or "s3://bucket/prefix/".</summary>
    string Description { get; }

    /// <summary>True when reading is as cheap as reading a local file (restores then skip staging a copy).</summary>
    bool IsLocal { get; }

    /// <summary>Every set, complete or not.</summary>
    Task<IReadOnlyList<string>> ListSetsAsync(CancellationToken ct);

    Task<IReadOnlyList<StoredObject>> ListObjectsAsync(string setId, CancellationToken ct);

    /// <summary>Stores a local file as <paramref name="name"/> of the set, replacing any object of that name.</summary>
    Task PutFileAsync(string setId, string name, string localPath, CancellationToken ct);

    Task PutBytesAsync(string setId, string name, ReadOnlyMemory<byte> content, CancellationToken ct);

    /// <exception cref="BackupObjectMissingException">No such object.</exception>
    Task<Stream> OpenReadAsync(string setId, string name, CancellationToken ct);

    Task DeleteAsync(string setId, string name, CancellationToken ct);

    /// <summary>Until when the set's objects cannot be deleted (S3 Object Lock); null when they can be now.</summary>
    Task<DateTimeOffset?> LockedUntilAsync(string setId, CancellationToken ct) => Task.FromResult<DateTimeOffset?>(null);
}

public sealed class BackupObjectMissingException(string setId, string name)
    : IOException($"{setId}/{name} does not exist on the backup target")
{
    public string SetId { get; } = setId;
    public string Name { get; } = name;
}
