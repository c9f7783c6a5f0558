using MaestroSla.Contracts.Events;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

/// <summary>
/// Requests of the current minute are held in memory until the minute has ended: one event per series and minute
/// however often batches are stored, and exactly once through crashes that lose what was held.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class OpenMinuteTests(ServicesFixture services)
{
    // A held minute is stored after it ends plus the harness's 2 s grace: at most ~62 s after its first request.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task requests_of_open_minutes_become_one_event_per_series_minute_whatever_the_flush_rate()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 8);
        await harness.StartConsumerAsync();

        // Waves of current traffic over ~6 s; ended minutes in between make the consumer store a batch every 100 ms.
        var expected = new TestTraffic();
        for (var wave = 0; wave < 12; wave++)
        {
            var current = Live(expected, 1_000, seed: wave);
            var ended = TestTraffic.Requests(500, DateTimeOffset.UtcNow, seed: 100 + wave);
            Add(expected, ended);
            harness.Produce(current.Concat(ended.Messages));
            await Task.Delay(500);
        }

        (await harness.WaitForStoredRequestsAsync(expected.TotalRequests, Patience)).ShouldBe(expected.TotalRequests);
        await ExactlyOnceIngestTests.AssertExactlyAsync(harness, expected);

        // Each series' current minute arrived over a dozen batches and is stored as one event.
        var liveMinutes = (await harness.StoredRequestEventsAsync())
            .Where(e => e.Service.StartsWith("live-", StringComparison.Ordinal))
            .SelectMany(e => e.Minutes.Select(m => (e.Service, e.Endpoint, m.Minute)))
            .GroupBy(m => m)
            .ToList();
        liveMinutes.ShouldNotBeEmpty();
        liveMinutes.ShouldAllBe(g => g.Count() == 1);
    }

    [Fact]
    public async Task a_consumer_that_crashes_holding_open_minutes_after_storing_later_batches_is_replaced_and_stores_every_request_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        var expected = new TestTraffic();
        var (first, _) = await harness.StartConsumerAsync();

        // Current requests (held), then ended ones behind them on the same partitions (stored at once): the stored
        // rows now say "resume before what you already stored".
        harness.Produce(Live(expected, 4_000, seed: 1));
        var ended = TestTraffic.Requests(8_000, DateTimeOffset.UtcNow, seed: 2);
        Add(expected, ended);
        harness.Produce(ended.Messages);
        (await harness.WaitForStoredRequestsAsync(ended.TotalRequests, Patience)).ShouldBe(ended.TotalRequests);
        (await PartitionsResumingBelowTheirReadPositionAsync(harness)).ShouldBeGreaterThan(0, "the crash must lose held minutes for this test to mean anything");

        first.SimulateCrash();
        await harness.StartConsumerAsync();
        harness.Produce(Live(expected, 2_000, seed: 3));

        (await harness.WaitForStoredRequestsAsync(expected.TotalRequests, Patience)).ShouldBe(expected.TotalRequests);
        await ExactlyOnceIngestTests.AssertExactlyAsync(harness, expected);
    }

    [Fact]
    public async Task endpoints_past_a_services_limit_are_counted_under_other_and_the_catalogue_records_each_series()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 2);
        var limit = 5;
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var messages = new List<byte[]>();
        for (var i = 0; i < 2_000; i++)
        {
            // A client that puts ids into endpoint names: 400 distinct endpoints.
            messages.Add(TestTraffic.Request("ids", $"GET /orders/{i % 400}", 10 + (i % 7), 200, now.AddSeconds(i % 60)));
        }
        harness.Produce(messages);
        await harness.StartConsumerAsync(new SeriesCatalog(limit));

        (await harness.WaitForStoredRequestsAsync(2_000, Patience)).ShouldBe(2_000);
        var events = await harness.StoredRequestEventsAsync();
        var endpoints = events.Select(e => e.Endpoint).Distinct().ToList();
        endpoints.Count.ShouldBe(limit + 1);
        endpoints.ShouldContain(SeriesCatalogTable.OtherEndpoint);
        events.Where(e => e.Endpoint == SeriesCatalogTable.OtherEndpoint).Sum(e => e.Minutes.Sum(m => m.Requests)).ShouldBe(2_000 - (limit * 5));

        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select endpoint from {harness.Store.Options.DatabaseSchemaName}.{SeriesCatalogTable.Name} where service = 'ids'", connection);
        var catalogue = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                catalogue.Add(reader.GetString(0));
            }
        }
        catalogue.OrderBy(e => e, StringComparer.Ordinal).ShouldBe(endpoints.Append(SeriesCatalogTable.ServiceRow).OrderBy(e => e, StringComparer.Ordinal));
    }

    [Fact]
    public async Task messages_the_broker_deleted_before_they_were_read_are_recorded_as_a_gap_with_the_batch_that_follows()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        // ~13 MB into one partition before anyone reads it: the embedded broker keeps about 5 MiB and drops the rest.
        var traffic = TestTraffic.Requests(80_000, DateTimeOffset.UtcNow, seed: 29);
        harness.Produce(traffic.Messages, partition: 0);

        var (_, progress) = await harness.StartConsumerAsync();
        await Eventually.HoldsAsync(() => progress.LostMessages > 0, "the gap is recorded", Patience);
        await Eventually.HoldsAsync(async () => await harness.StoredRequestsAsync() + progress.LostMessages == traffic.TotalRequests,
            "every message is either stored or counted lost", Patience);

        await using var session = harness.Store.QuerySession();
        var gaps = await Marten.QueryableExtensions.ToListAsync(session.Events.QueryRawEventDataOnly<IngestGapDetected>());
        gaps.Count.ShouldBe(1);
        gaps[0].Topic.ShouldBe(harness.Topic);
        gaps[0].FirstMissingOffset.ShouldBe(0);
        gaps[0].Count.ShouldBe(progress.LostMessages);
        gaps[0].LastMissingOffset.ShouldBe(gaps[0].Count - 1);
        gaps[0].LastStoredAt.ShouldBeNull("a new group had never stored this partition");

        // Every report whose period overlaps the gap says so, whichever service it is about.
        using var daemon = await harness.Store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await harness.Store.WaitForNonStaleProjectionDataAsync(Patience);
        var now = DateTimeOffset.UtcNow;
        var report = await SlaReportBuilder.BuildAsync(session, new SlaOptions(), "svc-0", now.AddDays(-1), now.AddMinutes(1), "UTC", null, CancellationToken.None);
        report.InputGaps.Single().Count.ShouldBe(gaps[0].Count);
        var before = await SlaReportBuilder.BuildAsync(session, new SlaOptions(), "svc-0", now.AddDays(-1), gaps[0].DetectedAt.AddDays(-2).AddDays(1), "UTC", null, CancellationToken.None);
        before.InputGaps.Count.ShouldBe(1, "a partition never read before may have lost data from any time before");
    }

    /// <summary>Requests of the current minute (timestamps = now), over 3 services × 4 endpoints named "live-…".</summary>
    private static List<byte[]> Live(TestTraffic expected, int count, int seed)
    {
        var random = new Random(seed);
        var messages = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var service = $"live-{random.Next(3)}";
            var status = random.Next(100) < 3 ? 503 : 200;
            messages.Add(TestTraffic.Request(service, $"GET /live/{random.Next(4)}", 1 + (random.NextDouble() * 200), status, DateTimeOffset.UtcNow));
            expected.RequestsByService[service] = expected.RequestsByService.GetValueOrDefault(service) + 1;
            if (status >= 500)
            {
                expected.ErrorsByService[service] = expected.ErrorsByService.GetValueOrDefault(service) + 1;
            }
        }
        return messages;
    }

    private static void Add(TestTraffic into, TestTraffic traffic)
    {
        foreach (var (service, requests) in traffic.RequestsByService)
        {
            into.RequestsByService[service] = into.RequestsByService.GetValueOrDefault(service) + requests;
        }
        foreach (var (service, errors) in traffic.ErrorsByService)
        {
            into.ErrorsByService[service] = into.ErrorsByService.GetValueOrDefault(service) + errors;
        }
    }

    private static async Task<long> PartitionsResumingBelowTheirReadPositionAsync(IngestHarness harness)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select count(*) from {harness.Store.Options.DatabaseSchemaName}.{StoredKafkaOffsets.TableName} where consumer_group = $1 and resume_offset < next_offset",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = harness.GroupId });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
