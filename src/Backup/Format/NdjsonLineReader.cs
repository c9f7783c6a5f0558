using System.Buffers;

namespace MaestroSla.Backup.Format;

/// <summary>
/// Splits a stream into '\n'-terminated lines over one pooled, growing buffer: no allocation per line. A line is
/// valid until the next call.
/// </summary>
internal sealed class NdjsonLineReader(Stream stream) : IDisposable
{
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private int _start;
    private int _end;
    private int _scanned;
    private bool _eof;

    public ReadOnlyMemory<byte> Line { get; private set; }

    public long LineNumber { get; private set; }

    public async ValueTask<bool> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_scanned, _end - _scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var length = _scanned - _start + newline;
                Line = _buffer.AsMemory(_start, length);
                _start += length + 1;
                _scanned = _start;
                LineNumber++;
                return true;
            }
            _scanned = _end;
            if (_eof)
            {
                if (_end == _start)
                {
                    return false;
                }
                // A last line without its newline still counts: the writer always ends lines, so this is only
                // ever seen on damaged input, which the caller's JSON parse then reports with a line number.
                Line = _buffer.AsMemory(_start, _end - _start);
                _start = _scanned = _end;
                LineNumber++;
                return true;
            }

            MakeRoom();
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
            if (read == 0)
            {
                _eof = true;
            }
            _end += read;
        }
    }

    private void MakeRoom()
    {
        var pending = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _scanned -= _start;
            _end = pending;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, larger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
