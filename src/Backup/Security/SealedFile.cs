using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace MaestroSla.Backup.Security;

/// <summary>A sealed file is damaged, altered, reordered, truncated or not the file it claims to be.</summary>
public class BackupSealException(string message) : IOException(message);

/// <summary>The file (or manifest) needs a key this process does not have.</summary>
public sealed class BackupKeyMissingException(string keyId)
    : BackupSealException($"sealed with key {keyId}, which is not configured (Backup:Encryption:Key or PreviousKeys)")
{
    public string KeyId { get; } = keyId;
}

/// <summary>
/// The sealed file format (AES-256-GCM in frames). A 56-byte header: "MSLASEAL", version 1, three zero bytes,
/// the plaintext frame size (uint32 LE), the key id (8 bytes) and a random 32-byte salt. Then frames: a uint32 LE
/// length with the top bit set on the last frame, the ciphertext, the 16-byte tag. Each file has its own key
/// (HKDF of the backup key and the salt), so the nonce is simply the frame index. Every frame's associated data is
/// SHA-256(header ‖ "set/name") ‖ index ‖ length word: a frame authenticates only in its own place of its own file,
/// and only the frame marked last may end it.
/// </summary>
public static class SealedFile
{
    public const string Algorithm = "AES-256-GCM";
    public const int HeaderBytes = 56;
    public const int TagBytes = 16;
    public const int MaxFrameBytes = 16 << 20;
    internal const uint LastFrame = 0x8000_0000;
    private static readonly byte[] Magic = "MSLASEAL"u8.ToArray();

    /// <summary>True when the bytes start like a sealed file (for tools; readers go by the manifest).</summary>
    public static bool LooksSealed(ReadOnlySpan<byte> start) => start.StartsWith(Magic);

    internal static byte[] Header(string keyId, int frameBytes, ReadOnlySpan<byte> salt)
    {
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header, 0);
        header[8] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)frameBytes);
        Convert.FromHexString(keyId).CopyTo(header, 16);
        salt.CopyTo(header.AsSpan(24));
        return header;
    }

    internal static (string KeyId, int FrameBytes, byte[] Salt) ParseHeader(ReadOnlySpan<byte> header)
    {
        if (!header.StartsWith(Magic) || header[8] != 1)
        {
            throw new BackupSealException("not a sealed backup file (no MSLASEAL version 1 header)");
        }
        var frameBytes = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (frameBytes is 0 or > MaxFrameBytes)
        {
            throw new BackupSealException($"frame size {frameBytes} in its header is out of range");
        }
        return (Convert.ToHexStringLower(header.Slice(16, 8)), (int)frameBytes, header.Slice(24, 32).ToArray());
    }

    /// <summary>What binds frames to this header and this file's place ("set/name").</summary>
    internal static byte[] Binding(ReadOnlySpan<byte> header, string fileIdentity)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(header);
        sha.AppendData(Encoding.UTF8.GetBytes(fileIdentity));
        var binding = new byte[32 + 8 + 4];
        sha.GetHashAndReset().CopyTo(binding, 0);
        return binding;
    }

    internal static void FrameData(byte[] binding, long index, uint lengthWord, Span<byte> nonce)
    {
        BinaryPrimitives.WriteInt64LittleEndian(binding.AsSpan(32), index);
        BinaryPrimitives.WriteUInt32LittleEndian(binding.AsSpan(40), lengthWord);
        nonce.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(nonce[4..], index);
    }

    public static string Identity(string setId, string name) => $"{setId}/{name}";
}

/// <summary>Seals what is written to it into an inner stream, one frame at a time. <see cref="FinishAsync"/> writes the last frame.</summary>
public sealed class SealingStream : Stream
{
    private readonly Stream _inner;
    private readonly bool _leaveOpen;
    private readonly AesGcm _aes;
    private readonly byte[] _header;
    private readonly byte[] _binding;
    private readonly byte[] _plain;
    private readonly byte[] _frame;
    private int _filled;
    private long _index;
    private bool _headerWritten;
    private bool _finished;

    public SealingStream(Stream inner, BackupKey key, string fileIdentity, int frameBytes, bool leaveOpen = false)
    {
        if (frameBytes is < 1 or > SealedFile.MaxFrameBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(frameBytes));
        }
        _inner = inner;
        _leaveOpen = leaveOpen;
        var salt = RandomNumberGenerator.GetBytes(32);
        _header = SealedFile.Header(key.Id, frameBytes, salt);
        _binding = SealedFile.Binding(_header, fileIdentity);
        _aes = new AesGcm(key.FileKey(salt), SealedFile.TagBytes);
        _plain = ArrayPool<byte>.Shared.Rent(frameBytes);
        _frame = ArrayPool<byte>.Shared.Rent(4 + frameBytes + SealedFile.TagBytes);
        FrameBytes = frameBytes;
    }

    public int FrameBytes { get; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (!buffer.IsEmpty)
        {
            if (_filled == FrameBytes)
            {
                // More is coming, so the full frame held back is not the last one.
                await SealAsync(last: false, cancellationToken);
            }
            var take = Math.Min(FrameBytes - _filled, buffer.Length);
            buffer.Span[..take].CopyTo(_plain.AsSpan(_filled));
            _filled += take;
            buffer = buffer[take..];
        }
    }

    /// <summary>Seals what is left as the last frame (possibly empty): without it a reader takes the file for truncated.</summary>
    public async Task FinishAsync(CancellationToken ct)
    {
        if (_finished)
        {
            return;
        }
        await SealAsync(last: true, ct);
        await _inner.FlushAsync(ct);
        _finished = true;
    }

    private async ValueTask SealAsync(bool last, CancellationToken ct)
    {
        if (!_headerWritten)
        {
            await _inner.WriteAsync(_header, ct);
            _headerWritten = true;
        }
        var lengthWord = (uint)_filled | (last ? SealedFile.LastFrame : 0);
        Span<byte> nonce = stackalloc byte[12];
        SealedFile.FrameData(_binding, _index, lengthWord, nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(_frame, lengthWord);
        _aes.Encrypt(nonce, _plain.AsSpan(0, _filled), _frame.AsSpan(4, _filled), _frame.AsSpan(4 + _filled, SealedFile.TagBytes), _binding);
        await _inner.WriteAsync(_frame.AsMemory(0, 4 + _filled + SealedFile.TagBytes), ct);
        _index++;
        _filled = 0;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            ArrayPool<byte>.Shared.Return(_plain, clearArray: true);
            ArrayPool<byte>.Shared.Return(_frame);
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// Reads a sealed file back as plaintext, authenticating each frame before handing out a byte of it. Throws
/// <see cref="BackupSealException"/> on any frame that fails, a file that ends before its last frame or goes on
/// after it, and <see cref="BackupKeyMissingException"/> when its key is not in the keyring.
/// </summary>
public sealed class UnsealingStream(Stream inner, BackupKeyring keys, string fileIdentity, bool leaveOpen = false) : Stream
{
    private AesGcm? _aes;
    private byte[]? _binding;
    private byte[] _plain = [];
    private byte[] _frame = [];
    private int _frameBytes;
    private int _offset;
    private int _available;
    private long _index;
    private bool _last;
    private bool _end;

    /// <summary>The key id the file's header names (after the first read).</summary>
    public string? KeyId { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_available == 0)
        {
            if (_end || buffer.IsEmpty)
            {
                return 0;
            }
            await NextFrameAsync(cancellationToken);
        }
        var take = Math.Min(_available, buffer.Length);
        _plain.AsMemory(_offset, take).CopyTo(buffer);
        _offset += take;
        _available -= take;
        return take;
    }

    private async Task NextFrameAsync(CancellationToken ct)
    {
        if (_aes is null)
        {
            var header = new byte[SealedFile.HeaderBytes];
            if (await ReadFullyAsync(header, ct) < header.Length)
            {
                throw new BackupSealException("shorter than a sealed file's header");
            }
            var (keyId, frameBytes, salt) = SealedFile.ParseHeader(header);
            KeyId = keyId;
            var key = keys.Find(keyId) ?? throw new BackupKeyMissingException(keyId);
            _frameBytes = frameBytes;
            _binding = SealedFile.Binding(header, fileIdentity);
            _aes = new AesGcm(key.FileKey(salt), SealedFile.TagBytes);
            _plain = ArrayPool<byte>.Shared.Rent(frameBytes);
            _frame = ArrayPool<byte>.Shared.Rent(frameBytes + SealedFile.TagBytes);
        }
        if (_last)
        {
            // After the last frame there must be nothing: appended frames are as foreign as swapped ones.
            if (await inner.ReadAsync(_frame.AsMemory(0, 1), ct) > 0)
            {
                throw new BackupSealException($"bytes follow its last frame ({_index})");
            }
            _end = true;
            return;
        }

        var word = new byte[4];
        if (await ReadFullyAsync(word, ct) < 4)
        {
            throw new BackupSealException($"truncated: ends after frame {_index - 1} without a last frame");
        }
        var lengthWord = BinaryPrimitives.ReadUInt32LittleEndian(word);
        var length = (int)(lengthWord & ~SealedFile.LastFrame);
        if (length > _frameBytes)
        {
            throw new BackupSealException($"frame {_index} claims {length} bytes, more than the file's frame size");
        }
        if (await ReadFullyAsync(_frame.AsMemory(0, length + SealedFile.TagBytes), ct) < length + SealedFile.TagBytes)
        {
            throw new BackupSealException($"truncated inside frame {_index}");
        }
        Span<byte> nonce = stackalloc byte[12];
        SealedFile.FrameData(_binding!, _index, lengthWord, nonce);
        try
        {
            _aes.Decrypt(nonce, _frame.AsSpan(0, length), _frame.AsSpan(length, SealedFile.TagBytes), _plain.AsSpan(0, length), _binding);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new BackupSealException($"frame {_index} does not authenticate: altered, reordered, or taken from another file");
        }
        _offset = 0;
        _available = length;
        _last = (lengthWord & SealedFile.LastFrame) != 0;
        _index++;
    }

    private async ValueTask<int> ReadFullyAsync(Memory<byte> buffer, CancellationToken ct)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await inner.ReadAsync(buffer[total..], ct);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes?.Dispose();
            if (_plain.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_plain, clearArray: true);
                ArrayPool<byte>.Shared.Return(_frame);
                _plain = _frame = [];
            }
            if (!leaveOpen)
            {
                inner.Dispose();
            }
        }
        base.Dispose(disposing);
    }
}
