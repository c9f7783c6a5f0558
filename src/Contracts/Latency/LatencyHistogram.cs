using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics;
using HdrHistogram;

namespace MaestroSla.Contracts.Latency;

/// <summary>
/// The one latency histogram MaestroSla records, stores and merges: microseconds from 1 µs to one hour, three
/// significant digits (every value is exact to within 0.1 %).
/// </summary>
/// <remarks>
/// Recording, percentiles and the counts live in HdrHistogram's <see cref="LongHistogram"/>; this subclass adds
/// what ingest, projections and reports do hundreds of thousands of times: encode, decode-and-add, and clear.
/// HdrHistogram.NET's own encoder and decoder allocate two or three copies of the whole counts array per call
/// (~340 KB and ~190 KB, 60–130 µs measured here), which bounded both ingest and projection speed. The bytes
/// written are HdrHistogram's standard V2 encoding, uncompressed, so any HdrHistogram implementation reads them
/// (<see cref="HistogramEncoding.DecodeFromByteBuffer"/> included, as the tests check). Uncompressed, because
/// zlib's per-call set-up cost more than the decoding itself (a rebuild merges tens of millions of histograms,
/// docs/benchmarks.md), while the zig-zag run-length payload of a minute's histogram is as small either way; the
/// compressed form is still read.
/// Not thread-safe.
/// </remarks>
public sealed class LatencyHistogram : LongHistogram
{
    public const long HighestTrackableMicros = 3_600_000_000;
    public const int SignificantDigits = 3;

    private const int CompressedCookieV2 = 0x1c849304 | 0x10;
    private const int CookieV2 = 0x1c849303 | 0x10;
    private const int HeaderLength = 40;

    // Index arithmetic for lowest trackable value 1 (unit magnitude 0) and 2048 sub-buckets (3 digits).
    private const int SubBucketHalfCountMagnitude = 10;
    private const int SubBucketHalfCount = 1 << SubBucketHalfCountMagnitude;
    private const long SubBucketMask = (2 * SubBucketHalfCount) - 1;
    private const int LeadingZeroCountBase = 64 - SubBucketHalfCountMagnitude - 1;

    private static readonly int CountsLength = IndexOf(HighestTrackableMicros) + 1;

    // The used part of the counts: clearing and encoding touch only [_minIndex, _maxIndex], which for a minute's
    // latencies is a few thousand of the ~23,000 counts.
    private int _minIndex = int.MaxValue;
    private int _maxIndex = -1;

    public LatencyHistogram()
        : base(HighestTrackableMicros, SignificantDigits)
    {
    }

    public bool IsEmpty => _maxIndex < 0;

    public void Record(long micros)
    {
        var index = IndexOf(micros);
        AddToCountAtIndex(index, 1);
        if (index > _maxIndex)
        {
            _maxIndex = index;
        }
        if (index < _minIndex)
        {
            _minIndex = index;
        }
    }

    /// <summary>Empties the histogram, touching only the part of the counts that was used.</summary>
    public void Clear()
    {
        for (var i = _minIndex; i <= _maxIndex; i++)
        {
            SetCountAtIndex(i, 0);
        }
        TotalCount = 0;
        _minIndex = int.MaxValue;
        _maxIndex = -1;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = other._minIndex; i <= other._maxIndex; i++)
        {
            var count = other.GetCountAtIndex(i);
            if (count != 0)
            {
                AddToCountAtIndex(i, count);
            }
        }
        _minIndex = Math.Min(_minIndex, other._minIndex);
        _maxIndex = Math.Max(_maxIndex, other._maxIndex);
    }

    /// <summary>Value at the percentile in milliseconds (the top of its 0.1 % bucket); null when empty.</summary>
    public double? PercentileMs(double percentile) => IsEmpty ? null : GetValueAtPercentile(percentile) / 1000.0;

    public double? MaxMs => IsEmpty ? null : this.HighestEquivalentValue(ValueOf(_maxIndex)) / 1000.0;

    /// <summary>HdrHistogram's V2 encoding of the counts, uncompressed (see the remarks on the class).</summary>
    public byte[] Encode()
    {
        // ZigZag LEB128 takes at most 9 bytes per count; runs of zeros shrink to one entry.
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + (9 * (_maxIndex + 2)));
        try
        {
            var length = HeaderLength + WriteCounts(buffer.AsSpan(HeaderLength));
            var header = buffer.AsSpan(0, HeaderLength);
            BinaryPrimitives.WriteInt32BigEndian(header, CookieV2);
            BinaryPrimitives.WriteInt32BigEndian(header[4..], length - HeaderLength);
            BinaryPrimitives.WriteInt32BigEndian(header[8..], 0); // normalizing index offset
            BinaryPrimitives.WriteInt32BigEndian(header[12..], SignificantDigits);
            BinaryPrimitives.WriteInt64BigEndian(header[16..], 1); // lowest discernible value
            BinaryPrimitives.WriteInt64BigEndian(header[24..], HighestTrackableMicros);
            BinaryPrimitives.WriteDoubleBigEndian(header[32..], 1.0); // integer to double conversion ratio
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Adds a histogram in HdrHistogram's V2 encoding: uncompressed as <see cref="Encode"/> writes it, or compressed as
    /// events stored before 2026-11-28 and other HdrHistogram producers hold it.
    /// </summary>
    public void AddEncoded(byte[] encoded) => AddEncoded(encoded, sign: 1);

    /// <summary>
    /// Takes away a histogram that was added before (as part of a larger one): a month's rollup less the hours of it that
    /// lie outside a report's window. Counts are integers, so what is left is exactly the histogram of the rest. Throws
    /// when a count would go below zero: <paramref name="encoded"/> was not part of this histogram.
    /// </summary>
    public void SubtractEncoded(byte[] encoded)
    {
        AddEncoded(encoded, sign: -1);
        // The used range may have shrunk at either end.
        while (_minIndex <= _maxIndex && GetCountAtIndex(_minIndex) == 0)
        {
            _minIndex++;
        }
        while (_maxIndex >= _minIndex && GetCountAtIndex(_maxIndex) == 0)
        {
            _maxIndex--;
        }
        if (_maxIndex < _minIndex)
        {
            _minIndex = int.MaxValue;
            _maxIndex = -1;
        }
    }

    private void AddEncoded(byte[] encoded, int sign)
    {
        var cookie = encoded.Length < 8 ? 0 : BinaryPrimitives.ReadInt32BigEndian(encoded.AsSpan());
        if (cookie == CookieV2)
        {
            AddPayload(encoded, sign);
            return;
        }
        if (cookie != CompressedCookieV2)
        {
            throw new FormatException("Not a V2 HDR histogram");
        }
        var compressedLength = BinaryPrimitives.ReadInt32BigEndian(encoded.AsSpan(4));
        if (compressedLength < 2 || compressedLength > encoded.Length - 8)
        {
            throw new FormatException("Truncated compressed V2 HDR histogram");
        }

        var inflated = ArrayPool<byte>.Shared.Rent(Math.Max(4096, compressedLength * 8));
        try
        {
            var length = Inflate(new MemoryStream(encoded, 8, compressedLength, writable: false), ref inflated);
            AddPayload(inflated.AsSpan(0, length), sign);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(inflated);
        }
    }

    private void AddPayload(ReadOnlySpan<byte> payload, int sign)
    {
        if (payload.Length < HeaderLength || BinaryPrimitives.ReadInt32BigEndian(payload) != CookieV2)
        {
            throw new FormatException("Not a V2 HDR histogram payload");
        }
        var payloadLength = BinaryPrimitives.ReadInt32BigEndian(payload[4..]);
        if (BinaryPrimitives.ReadInt32BigEndian(payload[8..]) != 0
            || BinaryPrimitives.ReadInt32BigEndian(payload[12..]) != SignificantDigits
            || BinaryPrimitives.ReadInt64BigEndian(payload[16..]) != 1
            || BinaryPrimitives.ReadInt64BigEndian(payload[24..]) > HighestTrackableMicros
            || payloadLength < 0 || payloadLength > payload.Length - HeaderLength)
        {
            throw new FormatException("HDR histogram with another layout than 1 µs .. 1 h at 3 digits");
        }
        ReadCounts(payload.Slice(HeaderLength, payloadLength), sign);
    }

    public static LatencyHistogram Decode(byte[] encoded)
    {
        var histogram = new LatencyHistogram();
        histogram.AddEncoded(encoded);
        return histogram;
    }

    private int WriteCounts(Span<byte> target)
    {
        var written = 0;
        var index = 0;
        if (_minIndex > 0 && _minIndex <= _maxIndex)
        {
            // The leading zeros as the loop below would write them: one run, or a single 0.
            written += WriteZigZag(target, _minIndex > 1 ? -(long)_minIndex : 0);
            index = _minIndex;
        }
        while (index <= _maxIndex)
        {
            var count = GetCountAtIndex(index++);
            if (count == 0)
            {
                long zeros = 1;
                while (index <= _maxIndex && GetCountAtIndex(index) == 0)
                {
                    zeros++;
                    index++;
                }
                count = zeros > 1 ? -zeros : 0;
            }
            written += WriteZigZag(target[written..], count);
        }
        return written;
    }

    private void ReadCounts(ReadOnlySpan<byte> source, int sign)
    {
        // A month report merges ~100,000 counts per call this way: the used range is updated once per histogram rather
        // than per count (the indexes only grow), and single-byte entries (zero runs, small counts) skip the loop.
        var index = 0;
        var position = 0;
        var length = CountsLength;
        var first = -1;
        var last = -1;
        while (position < source.Length && index < length)
        {
            var b = source[position];
            long item;
            if (b < 0x80)
            {
                position++;
                item = (b >> 1) ^ -(b & 1);
            }
            else
            {
                item = ReadZigZag(source, ref position);
            }
            if (item < 0)
            {
                index += checked((int)-item);
                continue;
            }
            if (item > 0)
            {
                if (sign < 0)
                {
                    if (GetCountAtIndex(index) < item)
                    {
                        throw new InvalidOperationException("The histogram taken away holds values this one does not: it was not part of it");
                    }
                    item = -item;
                }
                AddToCountAtIndex(index, item);
                if (first < 0)
                {
                    first = index;
                }
                last = index;
            }
            index++;
        }
        if (first >= 0)
        {
            _minIndex = Math.Min(_minIndex, first);
            _maxIndex = Math.Max(_maxIndex, last);
        }
    }

    private static int WriteZigZag(Span<byte> target, long value)
    {
        var zigZag = (ulong)((value << 1) ^ (value >> 63));
        var i = 0;
        // LEB128-64b9B: eight 7-bit groups, then the ninth byte carries the remaining 8 bits whole.
        while (i < 8 && zigZag >= 0x80)
        {
            target[i++] = (byte)(zigZag | 0x80);
            zigZag >>= 7;
        }
        target[i++] = (byte)zigZag;
        return i;
    }

    private static long ReadZigZag(ReadOnlySpan<byte> source, ref int position)
    {
        ulong value = 0;
        var shift = 0;
        for (var i = 0; i < 8; i++)
        {
            var b = source[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return (long)(value >> 1) ^ -(long)(value & 1);
            }
            shift += 7;
        }
        value |= (ulong)source[position++] << 56;
        return (long)(value >> 1) ^ -(long)(value & 1);
    }

    private static int Inflate(MemoryStream input, ref byte[] buffer)
    {
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, total).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }
            var read = zlib.Read(buffer, total, buffer.Length - total);
            if (read == 0)
            {
                return total;
            }
            total += read;
        }
    }

    private static int IndexOf(long value)
    {
        if (value < 0 || value > HighestTrackableMicros)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"Latency must be between 0 and {HighestTrackableMicros} µs");
        }
        var bucketIndex = LeadingZeroCountBase - BitOperations.LeadingZeroCount((ulong)(value | SubBucketMask));
        var subBucketIndex = (int)(value >> bucketIndex);
        return ((bucketIndex + 1) << SubBucketHalfCountMagnitude) + (subBucketIndex - SubBucketHalfCount);
    }

    private static long ValueOf(int index)
    {
        var bucketIndex = (index >> SubBucketHalfCountMagnitude) - 1;
        var subBucketIndex = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucketIndex < 0)
        {
            subBucketIndex -= SubBucketHalfCount;
            bucketIndex = 0;
        }
        return (long)subBucketIndex << bucketIndex;
    }
}
