using MaestroSla.Backup.Format;
using MaestroSla.Backup.Targets;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// A target that loses its connection at a chosen moment — as when the backup process dies — and refuses
/// everything afterwards, so nothing can be tidied up either. Or, with <see cref="OnSegmentStored"/>, one that
/// lets a test cancel a backup half way.
/// </summary>
public sealed class CrashingTarget(IBackupTarget inner) : IBackupTarget
{
    private bool _dead;

    public int SegmentsStored { get; private set; }
    public string? SetId { get; private set; }

    /// <summary>Dies instead of storing the manifest (after the segments).</summary>
    public bool CrashOnManifest { get; init; }

    public Action<int>? OnSegmentStored { get; init; }

    public string Description => inner.Description;
    public bool IsLocal => inner.IsLocal;

    public Task<IReadOnlyList<string>> ListSetsAsync(CancellationToken ct) => Alive(() => inner.ListSetsAsync(ct));

    public Task<IReadOnlyList<StoredObject>> ListObjectsAsync(string setId, CancellationToken ct) => Alive(() => inner.ListObjectsAsync(setId, ct));

    public async Task PutFileAsync(string setId, string name, string localPath, CancellationToken ct)
    {
        await Alive(() => inner.PutFileAsync(setId, name, localPath, ct));
        SetId = setId;
        SegmentsStored++;
        OnSegmentStored?.Invoke(SegmentsStored);
    }

    public Task PutBytesAsync(string setId, string name, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        if (CrashOnManifest && name == BackupManifest.FileName)
        {
            _dead = true;
        }
        return Alive(() => inner.PutBytesAsync(setId, name, content, ct));
    }

    public Task<Stream> OpenReadAsync(string setId, string name, CancellationToken ct) => Alive(() => inner.OpenReadAsync(setId, name, ct));

    public Task DeleteAsync(string setId, string name, CancellationToken ct) => Alive(() => inner.DeleteAsync(setId, name, ct));

    private Task<T> Alive<T>(Func<Task<T>> operation) => _dead ? throw new IOException("connection to the backup target lost") : operation();

    private Task Alive(Func<Task> operation) => _dead ? throw new IOException("connection to the backup target lost") : operation();
}
