using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed class HttpIngestTests(ServicesFixture services)
{
    [Fact]
    public async Task http_ingest_of_the_same_data_gives_the_same_events_as_kafka_ingest()
    {
        var now = DateTimeOffset.UtcNow;
        var traffic = TestTraffic.Requests(20_000, now, seed: 23);
        var messages = traffic.Messages.ToList();
        messages.Add(TestTraffic.Downtime("svc-1", now.AddMinutes(-50), now.AddMinutes(-41), "deploy"));
        messages.Add(TestTraffic.Health("svc-2", "db", "unhealthy", 3.5, now.AddMinutes(-10)));

        await using var kafka = await IngestHarness.CreateAsync(services, partitions: 4);
        kafka.Produce(messages);
        await kafka.StartConsumerAsync();
        (await kafka.WaitForStoredRequestsAsync(traffic.TotalRequests, TimeSpan.FromSeconds(60))).ShouldBe(traffic.TotalRequests);

        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using (var app = await RunningApp.StartAsync(http.ConnectionString))
        {
            foreach (var chunk in messages.Chunk(5_000))
            {
                var response = await app.Client.PostAsync("/api/ingest", JsonArray(chunk));
                response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            }
        }

        var fromKafka = await SnapshotAsync(kafka.Store);
        var fromHttp = await SnapshotAsync(http.Store);
        fromHttp.Minutes.Count.ShouldBe(fromKafka.Minutes.Count);
        foreach (var (key, expected) in fromKafka.Minutes)
        {
            fromHttp.Minutes[key].ShouldBe(expected, key);
        }
        fromHttp.Others.ShouldBe(fromKafka.Others);
    }

    [Fact]
    public async Task an_http_batch_with_invalid_messages_is_refused_whole_with_each_reason_and_stores_nothing()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var good = TestTraffic.Requests(3, DateTimeOffset.UtcNow);
        var bad = Encoding.UTF8.GetBytes("{\"v\":1,\"type\":\"request\",\"service\":\"a\"}");

        var response = await app.Client.PostAsync("/api/ingest", JsonArray([good.Messages[0], bad, good.Messages[1]]));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        var body = await response.Content.ReadAsStringAsync();
        body.ShouldContain("[1]");
        body.ShouldContain("missing field");
        (await http.StoredRequestsAsync()).ShouldBe(0);

        var notJson = await app.Client.PostAsync("/api/ingest", new StringContent("{oops", Encoding.UTF8, "application/json"));
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    private static ByteArrayContent JsonArray(IEnumerable<byte[]> messages)
    {
        var body = "[" + string.Join(",", messages.Select(m => Encoding.UTF8.GetString(m))) + "]";
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private sealed record Snapshot(Dictionary<string, string> Minutes, List<string> Others);

    /// <summary>
    /// The stored events reduced to what they mean: per endpoint-minute the summed counts and the merged histogram
    /// (flush boundaries differ between the paths, so one minute may be split over several events), plus every
    /// downtime and health event.
    /// </summary>
    private static async Task<Snapshot> SnapshotAsync(DocumentStore store)
    {
        await using var session = store.QuerySession();
        var requests = await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync();
        var minutes = requests
            .SelectMany(r => r.Minutes.Select(m => (Key: $"{r.Service}|{r.Endpoint}|{m.Minute:O}", Minute: m)))
            .GroupBy(x => x.Key)
            .ToDictionary(g => g.Key, g =>
            {
                var merged = new LatencyHistogram();
                foreach (var (_, minute) in g)
                {
                    merged.AddEncoded(minute.Latency);
                }
                return $"{g.Sum(x => x.Minute.Requests)}/{g.Sum(x => x.Minute.Errors)}/{Convert.ToBase64String(merged.Encode())}";
            });
        var downtimes = await session.Events.QueryRawEventDataOnly<DowntimeRecorded>().ToListAsync();
        var health = await session.Events.QueryRawEventDataOnly<HealthChecked>().ToListAsync();
        var others = downtimes.Select(d => d.ToString()).Concat(health.Select(h => h.ToString())).Order(StringComparer.Ordinal).ToList();
        return new Snapshot(minutes, others);
    }
}
