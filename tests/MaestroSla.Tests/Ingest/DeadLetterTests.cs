using System.Text;
using System.Net.Http.Json;
using MaestroSla.Ingest.Http;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed class DeadLetterTests(ServicesFixture services)
{
    [Fact]
    public async Task every_kind_of_invalid_message_is_dead_lettered_with_its_reason_while_valid_ones_around_it_are_stored()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        var now = DateTimeOffset.UtcNow;
        string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        var invalid = new (string Payload, string ReasonContains)[]
        {
            ("{\"v\":1,\"type\":\"request\",", "JSON"),
            ("", "empty"),
            ("[1,2,3]", "object"),
            ($"{{\"v\":1,\"type\":\"metric\",\"service\":\"a\",\"ts\":\"{Ts(now)}\"}}", "unknown message type"),
            ($"{{\"v\":7,\"type\":\"request\"}}", "version"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"status\":200,\"ts\":\"{Ts(now)}\"}}", "latencyMs"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"latencyMs\":\"NaN\",\"status\":200,\"ts\":\"{Ts(now)}\"}}", "latencyMs"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"latencyMs\":-3,\"status\":200,\"ts\":\"{Ts(now)}\"}}", "latencyMs"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"latencyMs\":99999999,\"status\":200,\"ts\":\"{Ts(now)}\"}}", "latencyMs"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"latencyMs\":5,\"status\":200,\"ts\":\"{Ts(now.AddDays(-400))}\"}}", "ts"),
            ($"{{\"v\":1,\"type\":\"request\",\"service\":\"a\",\"endpoint\":\"/x\",\"latencyMs\":5,\"status\":200,\"ts\":\"{Ts(now.AddHours(2))}\"}}", "ts"),
            ($"{{\"v\":1,\"type\":\"downtime\",\"service\":\"a\",\"start\":\"{Ts(now)}\",\"end\":\"{Ts(now.AddMinutes(-5))}\",\"reason\":\"x\"}}", "end"),
            ($"{{\"v\":1,\"type\":\"health\",\"service\":\"a\",\"component\":\"db\",\"status\":\"sleepy\",\"latencyMs\":1,\"ts\":\"{Ts(now)}\"}}", "status"),
        };

        var valid = TestTraffic.Requests(invalid.Length * 3, now, seed: 19);
        var messages = new List<byte[]>();
        for (var i = 0; i < invalid.Length; i++)
        {
            messages.Add(valid.Messages[i * 3]);
            messages.Add(Encoding.UTF8.GetBytes(invalid[i].Payload));
            messages.Add(valid.Messages[(i * 3) + 1]);
            messages.Add(valid.Messages[(i * 3) + 2]);
        }
        harness.Produce(messages);
        await harness.StartConsumerAsync();

        (await harness.WaitForStoredRequestsAsync(valid.TotalRequests, TimeSpan.FromSeconds(60))).ShouldBe(valid.TotalRequests);
        await ExactlyOnceIngestTests.AssertExactlyAsync(harness, valid);

        await using var session = harness.Store.QuerySession();
        var deadLetters = (await session.Query<DeadLetter>().ToListAsync()).OrderBy(d => d.Offset).ToList();
        deadLetters.Count.ShouldBe(invalid.Length);
        for (var i = 0; i < invalid.Length; i++)
        {
            var deadLetter = deadLetters[i];
            deadLetter.Topic.ShouldBe(harness.Topic);
            deadLetter.Partition.ShouldBe(0);
            deadLetter.Offset.ShouldBe((i * 4) + 1, "one partition keeps the produced order");
            Encoding.UTF8.GetString(deadLetter.Payload).ShouldBe(invalid[i].Payload);
            deadLetter.Reason.ShouldContain(invalid[i].ReasonContains, Case.Insensitive, $"message {i}: {invalid[i].Payload}");
        }

        // Operators see them through the API, newest first, with the payload as sent.
        await using var app = await RunningApp.StartAsync(harness.ConnectionString);
        var listed = await app.Client.GetFromJsonAsync<List<DeadLetterView>>("/api/dead-letters?limit=5");
        listed!.Count.ShouldBe(5);
        listed.ShouldAllBe(d => d.Topic == harness.Topic && d.Reason.Length > 0);
        listed.Select(d => d.PayloadText).ShouldBeSubsetOf(invalid.Select(x => x.Payload));
    }
}
