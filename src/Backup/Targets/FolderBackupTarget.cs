namespace MaestroSla.Backup.Targets;

/// <summary>Sets as sub-folders of a local (or mounted) folder. Every file appears whole: written aside, then renamed.</summary>
public sealed class FolderBackupTarget(string root) : IBackupTarget
{
    private const string PartialSuffix = ".partial";

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The folder's name only: descriptions end up in API answers and problem documents, server paths must not.</summary>
    public string Description => $"folder '{Path.GetFileName(Root.TrimEnd(Path.DirectorySeparatorChar))}'";

    public bool IsLocal => true;

    public Task<IReadOnlyList<string>> ListSetsAsync(CancellationToken ct)
    {
        IReadOnlyList<string> sets = Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>()
                .Where(n => !n.StartsWith('.')).Order(StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(sets);
    }

    public Task<IReadOnlyList<StoredObject>> ListObjectsAsync(string setId, CancellationToken ct)
    {
        var directory = SetPath(setId);
        IReadOnlyList<StoredObject> objects = Directory.Exists(directory)
            ? new DirectoryInfo(directory).EnumerateFiles()
                .Where(f => !f.Name.EndsWith(PartialSuffix, StringComparison.Ordinal))
                .Select(f => new StoredObject(f.Name, f.Length))
                .OrderBy(o => o.Name, StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(objects);
    }

    public async Task PutFileAsync(string setId, string name, string localPath, CancellationToken ct)
    {
        await using var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await WriteAsync(setId, name, async target => await source.CopyToAsync(target, ct), ct);
    }

    public Task PutBytesAsync(string setId, string name, ReadOnlyMemory<byte> content, CancellationToken ct) =>
        WriteAsync(setId, name, async target => await target.WriteAsync(content, ct), ct);

    public Task<Stream> OpenReadAsync(string setId, string name, CancellationToken ct)
    {
        var path = ObjectPath(setId, name);
        if (!File.Exists(path))
        {
            throw new BackupObjectMissingException(setId, name);
        }
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Task.FromResult(stream);
    }

    public Task DeleteAsync(string setId, string name, CancellationToken ct)
    {
        File.Delete(ObjectPath(setId, name));
        var directory = SetPath(setId);
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
        return Task.CompletedTask;
    }

    private async Task WriteAsync(string setId, string name, Func<Stream, Task> write, CancellationToken ct)
    {
        var path = ObjectPath(setId, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + PartialSuffix;
        await using (var target = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            await write(target);
            await target.FlushAsync(ct);
            // On disk before the rename makes it visible: a manifest must never name bytes a crash could lose.
            target.Flush(flushToDisk: true);
        }
        File.Move(partial, path, overwrite: true);
    }

    private string SetPath(string setId) => Path.Combine(Root, CheckName(setId));

    private string ObjectPath(string setId, string name) => Path.Combine(SetPath(setId), CheckName(name));

    private static string CheckName(string name) =>
        name.Length == 0 || name is "." or ".." || name.IndexOfAny(['/', '\\']) >= 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0
            ? throw new ArgumentException($"'{name}' is not a valid backup set or object name", nameof(name))
            : name;
}
