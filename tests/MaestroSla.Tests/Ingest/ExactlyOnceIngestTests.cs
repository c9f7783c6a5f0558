using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed class ExactlyOnceIngestTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task n_messages_across_several_partitions_are_stored_exactly_once_with_exact_counts_per_service()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 8);
        var traffic = TestTraffic.Requests(60_000, DateTimeOffset.UtcNow);

        harness.Produce(traffic.Messages);
        await harness.StartConsumerAsync();

        (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);
        await AssertExactlyAsync(harness, traffic);
    }

    [Fact]
    public async Task a_consumer_that_crashes_mid_stream_without_committing_and_is_restarted_stores_every_request_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 32);
        var traffic = TestTraffic.Requests(120_000, DateTimeOffset.UtcNow, seed: 11);
        harness.Produce(traffic.Messages);

        var (first, _) = await harness.StartConsumerAsync();
        var storedBeforeCrash = await harness.WaitForStoredRequestsAsync(traffic.TotalRequests / 4, Patience);
        first.SimulateCrash();
        storedBeforeCrash.ShouldBeLessThan(traffic.TotalRequests, "the crash must happen mid-stream for this test to mean anything");

        await harness.StartConsumerAsync();
        (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);
        await AssertExactlyAsync(harness, traffic);
    }

    [Fact]
    public async Task two_consumers_in_one_group_with_rebalances_in_between_store_every_request_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 16);
        var traffic = TestTraffic.Requests(90_000, DateTimeOffset.UtcNow, seed: 13);
        var thirds = traffic.Messages.Chunk(30_000).ToArray();

        var (first, firstProgress) = await harness.StartConsumerAsync();
        harness.Produce(thirds[0]);
        await harness.WaitForStoredRequestsAsync(10_000, Patience);

        // A second member joins: the partitions are split between the two. The next third is sent only once the
        // split is done: sent before, the first member could read and store all of it before giving partitions up,
        // leaving the second member nothing to store.
        var (_, secondProgress) = await harness.StartConsumerAsync();
        await Eventually.HoldsAsync(
            () => secondProgress.AssignedPartitions.Count > 0 && firstProgress.AssignedPartitions.Count + secondProgress.AssignedPartitions.Count == 16,
            "the partitions split between the two members", Patience);
        harness.Produce(thirds[1]);
        // Its first stored batch may wait for the minute it holds to end (up to 70 s after that minute began).
        await Eventually.HoldsAsync(() => secondProgress.StoredMessages > 0, "the second member stored a batch", Patience + TimeSpan.FromSeconds(70));

        // The first member leaves: the second takes all partitions over from the stored offsets.
        await first.StopAsync(CancellationToken.None);
        harness.Produce(thirds[2]);

        (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);
        await AssertExactlyAsync(harness, traffic);
        firstProgress.StoredMessages.ShouldBeGreaterThan(0);
        secondProgress.StoredMessages.ShouldBeGreaterThan(0);
        (firstProgress.StoredMessages + secondProgress.StoredMessages).ShouldBe(traffic.Messages.Count);
    }

    /// <summary>Counts must be exact now and stay exact: a late duplicate would show after a pause.</summary>
    internal static async Task AssertExactlyAsync(IngestHarness harness, TestTraffic traffic)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var stored = await harness.StoredRequestsByServiceAsync();
        stored.OrderBy(p => p.Key).ShouldBe(traffic.RequestsByService.OrderBy(p => p.Key));
        var errors = await harness.StoredErrorsByServiceAsync();
        foreach (var (service, expected) in traffic.ErrorsByService)
        {
            errors.GetValueOrDefault(service).ShouldBe(expected, $"errors of {service}");
        }
    }
}
