using System.Net;
using System.Text;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed class ConcurrentHttpIngestTests(ServicesFixture services)
{
    [Fact]
    public async Task thirty_two_clients_posting_overlapping_series_at_once_get_200_or_a_retryable_503_and_every_request_counts_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        // A small queue, so that backpressure is exercised too: refused batches must be retried by the client.
        await using var app = await RunningApp.StartAsync(harness.ConnectionString, new Dictionary<string, string?>
        {
            ["Ingest:Http:MaxPendingMessages"] = "20000",
            ["Security:RateLimit:Enabled"] = "false",
        });

        var expected = new TestTraffic();
        var batches = new List<byte[]>[32];
        for (var client = 0; client < batches.Length; client++)
        {
            // Every client writes the same five services and endpoints: the streams of those series overlap.
            var traffic = TestTraffic.Requests(50 * 200, DateTimeOffset.UtcNow, services: 5, seed: 1000 + client);
            batches[client] = traffic.Messages.Chunk(200).Select(JsonArray).ToList();
            foreach (var (service, requests) in traffic.RequestsByService)
            {
                expected.RequestsByService[service] = expected.RequestsByService.GetValueOrDefault(service) + requests;
            }
            foreach (var (service, errors) in traffic.ErrorsByService)
            {
                expected.ErrorsByService[service] = expected.ErrorsByService.GetValueOrDefault(service) + errors;
            }
        }

        var answers = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        await Task.WhenAll(batches.Select(clientBatches => Task.Run(async () =>
        {
            foreach (var body in clientBatches)
            {
                while (true)
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new("application/json");
                    using var response = await app.Client.PostAsync("/api/ingest", content);
                    answers.Add(response.StatusCode);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        break;
                    }
                    response.StatusCode.ShouldBeOneOf([HttpStatusCode.ServiceUnavailable, HttpStatusCode.TooManyRequests], await response.Content.ReadAsStringAsync());
                    response.Headers.RetryAfter.ShouldNotBeNull("a refused batch says when to retry");
                    await Task.Delay(Random.Shared.Next(50, 200));
                }
            }
        })));

        answers.Count(a => a == HttpStatusCode.OK).ShouldBe(32 * 50);
        answers.ShouldAllBe(a => a == HttpStatusCode.OK || a == HttpStatusCode.ServiceUnavailable || a == HttpStatusCode.TooManyRequests);
        await ExactlyOnceIngestTests.AssertExactlyAsync(harness, expected);
    }

    private static byte[] JsonArray(byte[][] messages)
    {
        var body = new List<byte>((messages.Sum(m => m.Length) + messages.Length) + 2) { (byte)'[' };
        for (var i = 0; i < messages.Length; i++)
        {
            if (i > 0)
            {
                body.Add((byte)',');
            }
            body.AddRange(messages[i]);
        }
        body.Add((byte)']');
        return [.. body];
    }
}
