using HdrHistogram;
using HdrHistogram.Utilities;

namespace MaestroSla.Contracts.Latency;

/// <summary>
/// The one shape of latency histogram MaestroSla records and stores: microseconds from 1 µs to one hour,
/// three significant digits (values are exact to 0.1 %).
/// </summary>
public static class LatencyHistograms
{
    public const long HighestTrackableMicros = 3_600_000_000;
    public const int SignificantDigits = 3;

    /// <summary>Per-minute recording: 32-bit counts are plenty for one endpoint-minute and halve the memory.</summary>
    public static IntHistogram CreateRecorder() => new(HighestTrackableMicros, SignificantDigits);

    /// <summary>Merging over hours, days or months can pass 2^31 requests in one bucket: 64-bit counts.</summary>
    public static LongHistogram CreateAccumulator() => new(HighestTrackableMicros, SignificantDigits);

    public static byte[] Encode(HistogramBase histogram)
    {
        var buffer = ByteBuffer.Allocate(histogram.GetNeededByteBufferCapacity());
        var length = histogram.EncodeIntoCompressedByteBuffer(buffer);
        // ByteBuffer exposes its bytes one at a time only; a compressed histogram is a few hundred bytes.
        buffer.Position = 0;
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = buffer.Get();
        }
        return bytes;
    }

    public static HistogramBase Decode(byte[] encoded) =>
        HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(encoded), HighestTrackableMicros);

    /// <summary>Adds an encoded histogram into an accumulator.</summary>
    public static void AddEncoded(HistogramBase accumulator, byte[] encoded) => accumulator.Add(Decode(encoded));

    /// <summary>Percentile in milliseconds; null for an empty histogram (HdrHistogram throws on empty ones).</summary>
    public static double? PercentileMs(HistogramBase histogram, double percentile) =>
        histogram.TotalCount == 0 ? null : histogram.GetValueAtPercentile(percentile) / 1000.0;

    public static double? MaxMs(HistogramBase histogram) =>
        histogram.TotalCount == 0 ? null : histogram.GetMaxValue() / 1000.0;
}
