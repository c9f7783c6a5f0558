using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

/// <summary>However a minute's requests travel — folded, moved on as an open minute, merged — the event is the same.</summary>
[Trait("Category", "Unit")]
public sealed class IngestBatchTests
{
    private static readonly DateTimeOffset Minute = new(2026, 11, 3, 10, 15, 0, TimeSpan.Zero);

    [Fact]
    public void a_busy_minute_folded_moved_and_merged_gives_the_counts_and_histogram_of_recording_every_request()
    {
        var random = new Random(5);
        var latencies = Enumerable.Range(0, 30_000).Select(_ => (long)random.Next(50, 900_000)).ToList();
        var expected = new LatencyHistogram();
        latencies.ForEach(expected.Record);

        // The first half arrives in one batch, is held open and moved on; the rest arrives in two HTTP-like batches.
        var first = new IngestBatch();
        var held = new IngestBatch();
        var merged = new IngestBatch();
        var other = new IngestBatch();
        for (var i = 0; i < latencies.Count; i++)
        {
            var target = i < 15_000 ? first : i < 25_000 ? merged : other;
            target.Add(Request(latencies[i], isError: i % 10 == 0));
        }
        first.MoveMinutesTo(held, IngestBatch.MinuteOf(Minute));
        first.HasEvents.ShouldBeFalse();
        first.RequestCount.ShouldBe(0);
        merged.MergeFrom(other);
        held.MergeFrom(merged);

        held.RequestCount.ShouldBe(latencies.Count);
        var recorded = held.ToEventsByService()["svc"].OfType<RequestsRecorded>().Single();
        var minute = recorded.Minutes.Single();
        minute.Minute.ShouldBe(Minute);
        minute.Requests.ShouldBe(latencies.Count);
        minute.Errors.ShouldBe(latencies.Count / 10);
        var actual = new LatencyHistogram();
        actual.AddEncoded(minute.Latency);
        actual.TotalCount.ShouldBe(expected.TotalCount);
        foreach (var percentile in new[] { 50.0, 90, 99, 99.9, 100 })
        {
            actual.GetValueAtPercentile(percentile).ShouldBe(expected.GetValueAtPercentile(percentile), $"P{percentile}");
        }
    }

    [Fact]
    public void only_minutes_at_or_after_the_cut_are_moved_on()
    {
        var batch = new IngestBatch();
        batch.Add(Request(1_000, false, Minute.AddMinutes(-1)));
        batch.Add(Request(2_000, false, Minute));
        batch.Add(Request(3_000, false, Minute.AddMinutes(1)));
        var open = new IngestBatch();

        batch.MoveMinutesTo(open, IngestBatch.MinuteOf(Minute));

        batch.ToEventsByService()["svc"].OfType<RequestsRecorded>().SelectMany(e => e.Minutes).Select(m => m.Minute).ShouldBe([Minute.AddMinutes(-1)]);
        open.ToEventsByService()["svc"].OfType<RequestsRecorded>().SelectMany(e => e.Minutes).Select(m => m.Minute).Order().ShouldBe([Minute, Minute.AddMinutes(1)]);
    }

    [Fact]
    public void merging_copies_the_other_batch_and_moving_into_a_held_minute_adds_to_it()
    {
        // Two group-committed HTTP batches with the same series' minute: the first must still describe only its own
        // requests afterwards (its request may be answered on its own), and the merge holds both.
        var first = new IngestBatch();
        var second = new IngestBatch();
        for (var i = 0; i < 1_500; i++)
        {
            first.Add(Request(1_000 + i, isError: false));
            second.Add(Request(500_000 + i, isError: i % 3 == 0));
        }
        var combined = new IngestBatch();
        combined.MergeFrom(first);
        combined.MergeFrom(second);
        MinuteOf(first).Requests.ShouldBe(1_500);
        MinuteOf(first).Errors.ShouldBe(0);
        Histogram(MinuteOf(first)).GetValueAtPercentile(100).ShouldBeLessThan(3_000);
        MinuteOf(combined).Requests.ShouldBe(3_000);
        MinuteOf(combined).Errors.ShouldBe(500);

        // A consumer's held minute meets the same minute read in the next batch.
        var held = new IngestBatch();
        first.MoveMinutesTo(held, IngestBatch.MinuteOf(Minute));
        second.MoveMinutesTo(held, IngestBatch.MinuteOf(Minute));
        var minute = MinuteOf(held);
        minute.Requests.ShouldBe(3_000);
        minute.Errors.ShouldBe(500);
        Histogram(minute).TotalCount.ShouldBe(3_000);
        Histogram(minute).GetValueAtPercentile(50).ShouldBeLessThan(3_000);
        Histogram(minute).GetValueAtPercentile(51).ShouldBeGreaterThan(490_000);
    }

    private static MinuteOfRequests MinuteOf(IngestBatch batch) =>
        batch.ToEventsByService()["svc"].OfType<RequestsRecorded>().Single().Minutes.Single();

    private static LatencyHistogram Histogram(MinuteOfRequests minute)
    {
        var histogram = new LatencyHistogram();
        histogram.AddEncoded(minute.Latency);
        return histogram;
    }

    private static DecodedMessage Request(long micros, bool isError, DateTimeOffset? at = null) =>
        DecodedMessage.FromRequest(new RequestMetric("svc", "GET /x", micros, isError ? 500 : 200, isError, (at ?? Minute).AddSeconds(7)));
}
