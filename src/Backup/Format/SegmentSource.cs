using MaestroSla.Backup.Security;

namespace MaestroSla.Backup.Format;

/// <summary>
/// A stored segment being read: the stored bytes are hashed (against the manifest) and, for a sealed set,
/// unsealed frame by frame; <see cref="Compressed"/> is the gzip stream either way.
/// </summary>
internal sealed class SegmentSource : IAsyncDisposable
{
    private readonly UnsealingStream? _unsealing;

    public SegmentSource(Stream stored, BackupManifest manifest, BackupSegment segment, BackupKeyring keys)
    {
        Hashing = new HashingStream(stored);
        if (manifest.Encryption is not null)
        {
            _unsealing = new UnsealingStream(Hashing, keys, SealedFile.Identity(manifest.BackupId, segment.Name), leaveOpen: true);
        }
    }

    public HashingStream Hashing { get; }

    public Stream Compressed => (Stream?)_unsealing ?? Hashing;

    /// <summary>
    /// Reads what the consumer left (gzip stops at its trailer): a sealed file is then checked to its last frame,
    /// and the hash covers every stored byte.
    /// </summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        if (_unsealing is not null)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
            try
            {
                while (await _unsealing.ReadAsync(buffer.AsMemory(), ct) > 0)
                {
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        await Hashing.DrainAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_unsealing is not null)
        {
            await _unsealing.DisposeAsync();
        }
        await Hashing.DisposeAsync();
    }
}
