using BenchmarkDotNet.Attributes;
using MaestroSla.Contracts.Latency;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Codec;

/// <summary>
/// Encoding one histogram to the bytes events and rollups carry: a minute of an endpoint (hundreds of latencies, what
/// every ingest flush encodes) and a day rollup (millions), against HdrHistogram's own encoder.
/// </summary>
public class EncodeBenchmarks
{
    private readonly LatencyHistogram _histogram = new();

    [Params(600, 2_000_000)]
    public int Values { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 5);
        _histogram.Clear();
        for (var i = 0; i < Values; i++)
        {
            _histogram.Record(traffic.NextLatencyMicros());
        }
    }

    [Benchmark(Baseline = true)]
    public byte[] HdrHistogramEncode() => LibraryCodec.Encode(_histogram);

    [Benchmark]
    public byte[] LatencyHistogramEncode() => _histogram.Encode();
}
