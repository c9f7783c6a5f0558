using HdrHistogram;
using HdrHistogram.Utilities;
using MaestroSla.Contracts.Latency;

namespace MaestroSla.MicroBench.Codec;

/// <summary>
/// How MaestroSla encoded and merged histograms with HdrHistogram.NET's own API until LatencyHistogram's codec
/// replaced it (commit 73221ce): the baseline of the codec benchmarks. The library writes the compressed V2 form,
/// LatencyHistogram the uncompressed one; both read either.
/// </summary>
internal static class LibraryCodec
{
    public static byte[] Encode(HistogramBase histogram)
    {
        var buffer = ByteBuffer.Allocate(histogram.GetNeededByteBufferCapacity());
        var length = histogram.EncodeIntoCompressedByteBuffer(buffer);
        // ByteBuffer hands its bytes out one at a time only.
        buffer.Position = 0;
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = buffer.Get();
        }
        return bytes;
    }

    public static void AddEncoded(HistogramBase accumulator, byte[] encoded) =>
        accumulator.Add(HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(encoded), LatencyHistogram.HighestTrackableMicros));
}
