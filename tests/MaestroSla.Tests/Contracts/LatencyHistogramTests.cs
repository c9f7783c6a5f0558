using HdrHistogram;
using HdrHistogram.Encoding;
using HdrHistogram.Utilities;
using MaestroSla.Contracts.Latency;
using Shouldly;

namespace MaestroSla.Tests.Contracts;

[Trait("Category", "Unit")]
public sealed class LatencyHistogramTests
{
    private static readonly double[] Percentiles = [0, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100];

    private static long[] Latencies(int count, int seed)
    {
        var random = new Random(seed);
        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            // Mostly milliseconds, a long tail into seconds, some exact zeros and the top of the range.
            values[i] = (i % 997) switch
            {
                0 => 0,
                1 => LatencyHistogram.HighestTrackableMicros,
                _ => (long)(40_000 * Math.Exp(1.2 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))),
            };
        }
        return values;
    }

    private static LatencyHistogram Recorded(long[] values)
    {
        var histogram = new LatencyHistogram();
        foreach (var value in values)
        {
            histogram.Record(value);
        }
        return histogram;
    }

    private static LongHistogram LibraryRecorded(long[] values)
    {
        var histogram = new LongHistogram(LatencyHistogram.HighestTrackableMicros, LatencyHistogram.SignificantDigits);
        foreach (var value in values)
        {
            histogram.RecordValue(value);
        }
        return histogram;
    }

    [Fact]
    public void taking_away_a_part_leaves_exactly_the_rest_and_a_histogram_that_was_not_a_part_is_refused()
    {
        var rest = Latencies(20_000, seed: 7);
        var part = Latencies(5_000, seed: 8);
        var whole = Recorded([.. rest, .. part]);

        whole.SubtractEncoded(Recorded(part).Encode());

        var expected = Recorded(rest);
        whole.TotalCount.ShouldBe(expected.TotalCount);
        whole.MaxMs.ShouldBe(expected.MaxMs);
        foreach (var percentile in Percentiles)
        {
            whole.PercentileMs(percentile).ShouldBe(expected.PercentileMs(percentile), $"p{percentile}");
        }
        whole.Encode().ShouldBe(expected.Encode(), "the used range shrank with the counts");

        // The top and bottom of the range gone: the used range shrinks at both ends.
        var narrow = Recorded([1_000, 2_000, 3_000]);
        narrow.SubtractEncoded(Recorded([1_000, 3_000]).Encode());
        narrow.Encode().ShouldBe(Recorded([2_000]).Encode());
        narrow.SubtractEncoded(Recorded([2_000]).Encode());
        narrow.IsEmpty.ShouldBeTrue();
        narrow.TotalCount.ShouldBe(0);

        var small = Recorded([1_000, 2_000]);
        Should.Throw<InvalidOperationException>(() => small.SubtractEncoded(Recorded([2_000, 2_000]).Encode()));
    }

    [Fact]
    public void what_it_encodes_is_read_by_hdrhistogram_itself_with_the_same_counts()
    {
        var values = Latencies(50_000, seed: 1);

        var decoded = HistogramEncoding.DecodeFromByteBuffer(ByteBuffer.Allocate(Recorded(values).Encode()), 0);

        var expected = LibraryRecorded(values);
        decoded.TotalCount.ShouldBe(expected.TotalCount);
        foreach (var percentile in Percentiles)
        {
            decoded.GetValueAtPercentile(percentile).ShouldBe(expected.GetValueAtPercentile(percentile), $"P{percentile}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void it_reads_what_hdrhistogram_encodes_compressed_as_stored_events_hold_it_or_not(bool compressed)
    {
        var values = Latencies(20_000, seed: 2);
        var library = LibraryRecorded(values);
        var buffer = ByteBuffer.Allocate(library.GetNeededByteBufferCapacity());
        var length = compressed ? library.EncodeIntoCompressedByteBuffer(buffer) : library.Encode(buffer, HistogramEncoderV2.Instance);
        buffer.Position = 0;
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = buffer.Get();
        }

        var decoded = LatencyHistogram.Decode(bytes);

        decoded.TotalCount.ShouldBe(library.TotalCount);
        foreach (var percentile in Percentiles)
        {
            decoded.GetValueAtPercentile(percentile).ShouldBe(library.GetValueAtPercentile(percentile), $"P{percentile}");
        }
    }

    [Fact]
    public void percentiles_are_within_the_stated_precision_of_the_exact_sorted_values()
    {
        var values = Latencies(100_000, seed: 3);
        var histogram = Recorded(values);
        Array.Sort(values);

        foreach (var percentile in new[] { 50.0, 90, 95, 99, 99.9 })
        {
            var rank = Math.Max(1, (long)Math.Ceiling(percentile / 100 * values.Length));
            var exact = values[rank - 1];
            var reported = histogram.GetValueAtPercentile(percentile);
            ((double)Math.Abs(reported - exact)).ShouldBeLessThanOrEqualTo(Math.Max(1, exact / 1000.0), $"P{percentile}: exact {exact}, reported {reported}");
        }
        histogram.MaxMs!.Value.ShouldBe(LatencyHistogram.HighestTrackableMicros / 1000.0, tolerance: LatencyHistogram.HighestTrackableMicros / 1000.0 / 1000);
    }

    [Fact]
    public void merging_encoded_parts_equals_recording_everything_in_one()
    {
        var values = Latencies(30_000, seed: 4);
        var merged = new LatencyHistogram();
        foreach (var part in values.Chunk(997))
        {
            merged.AddEncoded(Recorded(part).Encode());
        }
        var added = new LatencyHistogram();
        added.Add(Recorded(values[..15_000]));
        added.Add(Recorded(values[15_000..]));

        var whole = Recorded(values);
        merged.Encode().ShouldBe(whole.Encode());
        added.Encode().ShouldBe(whole.Encode());
    }

    [Fact]
    public void a_cleared_histogram_is_as_good_as_new()
    {
        var histogram = Recorded(Latencies(5_000, seed: 5));
        histogram.Clear();

        histogram.IsEmpty.ShouldBeTrue();
        histogram.TotalCount.ShouldBe(0);
        histogram.PercentileMs(99).ShouldBeNull();
        histogram.Record(1234);
        histogram.Encode().ShouldBe(Recorded([1234]).Encode());
    }

    [Fact]
    public void bytes_that_are_not_a_compressed_histogram_are_refused()
    {
        Should.Throw<FormatException>(() => LatencyHistogram.Decode([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
        Should.Throw<ArgumentOutOfRangeException>(() => new LatencyHistogram().Record(-1));
    }

    [Fact]
    public void a_cleared_and_reused_histogram_encodes_what_a_fresh_one_does()
    {
        // Only milliseconds and up: the counts below the first used one are never touched.
        var first = Latencies(5_000, seed: 5).Where(v => v >= 5_000).ToArray();
        var second = Latencies(5_000, seed: 6).Where(v => v >= 20_000).ToArray();
        var reused = Recorded(first);
        reused.Clear();
        foreach (var value in second)
        {
            reused.Record(value);
        }

        var bytes = reused.Encode();

        bytes.ShouldBe(Recorded(second).Encode());
        var decoded = HistogramEncoding.DecodeFromByteBuffer(ByteBuffer.Allocate(bytes), 0);
        decoded.TotalCount.ShouldBe(second.Length);
        decoded.GetValueAtPercentile(50).ShouldBe(LibraryRecorded(second).GetValueAtPercentile(50));
        var merged = new LatencyHistogram();
        merged.AddEncoded(bytes);
        merged.Encode().ShouldBe(bytes);
    }
}
