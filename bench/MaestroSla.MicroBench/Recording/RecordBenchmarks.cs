using BenchmarkDotNet.Attributes;
using HdrHistogram;
using MaestroSla.Contracts.Latency;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Recording;

/// <summary>Recording one latency, per value: LatencyHistogram.Record against HdrHistogram's own RecordValue.</summary>
public class RecordBenchmarks
{
    private const int Values = 4_096;

    private readonly LongHistogram _library = new(LatencyHistogram.HighestTrackableMicros, LatencyHistogram.SignificantDigits);
    private readonly LatencyHistogram _latency = new();
    private long[] _micros = [];

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 3);
        _micros = new long[Values];
        for (var i = 0; i < Values; i++)
        {
            _micros[i] = traffic.NextLatencyMicros();
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Values)]
    public void HdrHistogramRecordValue()
    {
        foreach (var micros in _micros)
        {
            _library.RecordValue(micros);
        }
    }

    [Benchmark(OperationsPerInvoke = Values)]
    public void LatencyHistogramRecord()
    {
        foreach (var micros in _micros)
        {
            _latency.Record(micros);
        }
    }
}
