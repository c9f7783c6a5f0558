using BenchmarkDotNet.Attributes;
using HdrHistogram;
using MaestroSla.Contracts.Latency;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Codec;

/// <summary>
/// Merging encoded minute histograms into one, per merge: what the hour and day rollups and the as-of reports do,
/// against HdrHistogram's decode-then-Add.
/// </summary>
public class MergeBenchmarks
{
    private const int ValuesPerMinute = 600;

    private readonly LongHistogram _libraryAccumulator = new(LatencyHistogram.HighestTrackableMicros, LatencyHistogram.SignificantDigits);
    private readonly LatencyHistogram _accumulator = new();
    private byte[][] _minutes = [];
    private byte[][] _compressedMinutes = [];
    private byte[][] _days = [];

    [Params(60, 1_440)]
    public int Minutes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 6);
        var minute = new LatencyHistogram();
        _minutes = new byte[Minutes][];
        _compressedMinutes = new byte[Minutes][];
        for (var m = 0; m < Minutes; m++)
        {
            minute.Clear();
            for (var i = 0; i < ValuesPerMinute; i++)
            {
                minute.Record(traffic.NextLatencyMicros());
            }
            _minutes[m] = minute.Encode();
            _compressedMinutes[m] = LibraryCodec.Encode(minute);
        }

        // A month report of one service: thirty day histograms of 150,000 requests each.
        var day = new LatencyHistogram();
        _days = new byte[30][];
        for (var d = 0; d < _days.Length; d++)
        {
            day.Clear();
            for (var i = 0; i < 150_000; i++)
            {
                day.Record(traffic.NextLatencyMicros());
            }
            _days[d] = day.Encode();
        }
    }

    [Benchmark(Baseline = true)]
    public long HdrHistogramDecodeAndAdd()
    {
        _libraryAccumulator.Reset();
        foreach (var encoded in _compressedMinutes)
        {
            LibraryCodec.AddEncoded(_libraryAccumulator, encoded);
        }
        return _libraryAccumulator.TotalCount;
    }

    [Benchmark]
    public long LatencyHistogramAddEncoded()
    {
        _accumulator.Clear();
        foreach (var encoded in _minutes)
        {
            _accumulator.AddEncoded(encoded);
        }
        return _accumulator.TotalCount;
    }

    /// <summary>A month report's merge: thirty day histograms (the same for both Minutes values).</summary>
    [Benchmark]
    public long LatencyHistogramAddEncodedMonthOfDays()
    {
        _accumulator.Clear();
        foreach (var encoded in _days)
        {
            _accumulator.AddEncoded(encoded);
        }
        return _accumulator.TotalCount;
    }

    /// <summary>The compressed form, as events stored before LatencyHistogram wrote it uncompressed hold it.</summary>
    [Benchmark]
    public long LatencyHistogramAddEncodedCompressed()
    {
        _accumulator.Clear();
        foreach (var encoded in _compressedMinutes)
        {
            _accumulator.AddEncoded(encoded);
        }
        return _accumulator.TotalCount;
    }
}
