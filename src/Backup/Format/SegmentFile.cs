using System.Buffers;
using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using MaestroSla.Backup.Security;

namespace MaestroSla.Backup.Format;

/// <summary>
/// One segment being written to a local file: NDJSON lines, gzip'd, hashed with SHA-256 on the way to disk. Lines
/// are built in a buffer and handed to gzip 64 KiB at a time.
/// </summary>
internal sealed class SegmentFile : IAsyncDisposable
{
    private const int FlushAt = 1 << 16;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Not for HTML: keep '+', '<', non-ASCII names etc. as they are instead of \uXXXX escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private readonly FileStream _file;
    private readonly HashingStream _hashing;
    private readonly SealingStream? _sealing;
    private readonly GZipStream _gzip;
    private readonly ArrayBufferWriter<byte> _buffer = new(FlushAt * 2);
    private readonly Utf8JsonWriter _json;
    private bool _completed;

    /// <param name="seal">When set, the gzip'd bytes are sealed (AES-256-GCM frames) under this key, bound to set/name.</param>
    public SegmentFile(string path, string name, string kind, CompressionLevel level, (BackupKey Key, string SetId, int FrameBytes)? seal = null)
    {
        Path = path;
        Name = name;
        Kind = kind;
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
        _hashing = new HashingStream(_file, leaveOpen: true);
        if (seal is { } s)
        {
            _sealing = new SealingStream(_hashing, s.Key, SealedFile.Identity(s.SetId, name), s.FrameBytes, leaveOpen: true);
        }
        _gzip = new GZipStream((Stream?)_sealing ?? _hashing, level, leaveOpen: true);
        _json = new Utf8JsonWriter(_buffer, WriterOptions);
    }

    public string Path { get; }
    public string Name { get; }
    public string Kind { get; }
    public long Events { get; private set; }
    public long FirstSequence { get; private set; }
    public long LastSequence { get; private set; }
    public DateTimeOffset? EarliestEventAt { get; private set; }
    public DateTimeOffset? LatestEventAt { get; private set; }

    /// <summary>Uncompressed bytes written so far.</summary>
    public long RawBytes { get; private set; }

    /// <summary>The writer for the current line: write exactly one JSON object, then call <see cref="EndLineAsync"/>.</summary>
    public Utf8JsonWriter Line => _json;

    public ValueTask EndLineAsync(CancellationToken ct)
    {
        _json.Flush();
        _buffer.Write("\n"u8);
        _json.Reset(_buffer);
        return _buffer.WrittenCount >= FlushAt ? FlushBufferAsync(ct) : ValueTask.CompletedTask;
    }

    public void CountEvent(long sequence, DateTimeOffset timestamp)
    {
        if (Events == 0)
        {
            FirstSequence = sequence;
        }
        LastSequence = sequence;
        Events++;
        // Timestamps are each transaction's start, so they are not ordered by sequence: keep the extremes.
        if (EarliestEventAt is null || timestamp < EarliestEventAt)
        {
            EarliestEventAt = timestamp;
        }
        if (LatestEventAt is null || timestamp > LatestEventAt)
        {
            LatestEventAt = timestamp;
        }
    }

    public async Task<BackupSegment> CompleteAsync(CancellationToken ct)
    {
        await FlushBufferAsync(ct);
        await _gzip.DisposeAsync();
        if (_sealing is not null)
        {
            await _sealing.FinishAsync(ct);
        }
        await _file.FlushAsync(ct);
        _file.Flush(flushToDisk: true);
        _completed = true;
        return new BackupSegment(Name, Kind, _hashing.Length64, Events, FirstSequence, LastSequence, EarliestEventAt, LatestEventAt, _hashing.Sha256Hex());
    }

    private async ValueTask FlushBufferAsync(CancellationToken ct)
    {
        RawBytes += _buffer.WrittenCount;
        await _gzip.WriteAsync(_buffer.WrittenMemory, ct);
        _buffer.ResetWrittenCount();
    }

    public async ValueTask DisposeAsync()
    {
        await _json.DisposeAsync();
        if (!_completed)
        {
            await _gzip.DisposeAsync();
        }
        if (_sealing is not null)
        {
            await _sealing.DisposeAsync();
        }
        await _hashing.DisposeAsync();
        await _file.DisposeAsync();
    }
}
