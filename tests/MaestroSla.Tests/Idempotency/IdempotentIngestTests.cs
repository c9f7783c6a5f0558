using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Idempotency;

[Collection(SharedServices.Name)]
public sealed class IdempotentIngestTests(ServicesFixture services)
{
    [Fact]
    public async Task a_batch_retried_with_the_same_key_is_stored_once_and_answered_with_the_first_answer()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var traffic = TestTraffic.Requests(500, DateTimeOffset.UtcNow, seed: 5);
        var body = JsonArray(traffic.Messages);

        var first = await PostAsync(app.Client, body, "batch-0001");
        first.StatusCode.ShouldBe(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        var firstAnswer = await first.Content.ReadAsStringAsync();
        firstAnswer.ShouldContain("\"requests\":500");
        first.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();

        for (var retry = 0; retry < 3; retry++)
        {
            var again = await PostAsync(app.Client, body, "batch-0001");
            again.StatusCode.ShouldBe(HttpStatusCode.OK);
            (await again.Content.ReadAsStringAsync()).ShouldBe(firstAnswer);
            again.Headers.GetValues("Idempotent-Replayed").ShouldBe(["true"]);
        }

        (await http.StoredRequestsAsync()).ShouldBe(500);
        // Without a key (or with another) the same data is new data.
        (await PostAsync(app.Client, body, "batch-0002")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PostAsync(app.Client, body, key: null)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await http.StoredRequestsAsync()).ShouldBe(1_500);
    }

    [Fact]
    public async Task the_same_key_with_another_body_is_a_422_and_stores_nothing()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var now = DateTimeOffset.UtcNow;

        (await PostAsync(app.Client, JsonArray(TestTraffic.Requests(10, now, seed: 1).Messages), "k")).StatusCode.ShouldBe(HttpStatusCode.OK);
        var reused = await PostAsync(app.Client, JsonArray(TestTraffic.Requests(20, now, seed: 2).Messages), "k");

        reused.StatusCode.ShouldBe(HttpStatusCode.UnprocessableEntity);
        reused.Content.Headers.ContentType!.MediaType.ShouldBe("application/problem+json");
        (await reused.Content.ReadAsStringAsync()).ShouldContain("Idempotency-Key");
        (await http.StoredRequestsAsync()).ShouldBe(10);
    }

    [Fact]
    public async Task concurrent_sends_of_one_key_store_the_batch_once_and_all_get_its_answer()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var body = JsonArray(TestTraffic.Requests(300, DateTimeOffset.UtcNow, seed: 9).Messages);

        for (var round = 0; round < 5; round++)
        {
            var key = $"round-{round}";
            var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                var response = await PostAsync(app.Client, body, key);
                return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }));
            answers.ShouldAllBe(a => a.StatusCode == HttpStatusCode.OK);
            answers.Select(a => a.Body).Distinct().Count().ShouldBe(1);
        }

        (await http.StoredRequestsAsync()).ShouldBe(5 * 300);
    }

    [Fact]
    public async Task a_key_is_forgotten_after_its_lifetime_and_its_batch_is_then_stored_again()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString, new Dictionary<string, string?>
        {
            ["Ingest:Idempotency:KeyLifetime"] = "00:00:02",
        });
        var body = JsonArray(TestTraffic.Requests(40, DateTimeOffset.UtcNow, seed: 3).Messages);

        (await PostAsync(app.Client, body, "short-lived")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PostAsync(app.Client, body, "short-lived")).Headers.Contains("Idempotent-Replayed").ShouldBeTrue();
        (await http.StoredRequestsAsync()).ShouldBe(40);

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var late = await PostAsync(app.Client, body, "short-lived");
        late.StatusCode.ShouldBe(HttpStatusCode.OK);
        late.Headers.Contains("Idempotent-Replayed").ShouldBeFalse();
        (await http.StoredRequestsAsync()).ShouldBe(80);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("x256")]
    public async Task an_unusable_key_is_a_400_naming_the_header_and_stores_nothing(string key)
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        if (key == "x256")
        {
            key = new string('x', IdempotencyKeys.MaxKeyLength + 1);
        }

        var response = await PostAsync(app.Client, JsonArray(TestTraffic.Requests(5, DateTimeOffset.UtcNow).Messages), key);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("Idempotency-Key");
        (await http.StoredRequestsAsync()).ShouldBe(0);
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, byte[] body, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingest") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation(IdempotencyKeys.HeaderName, key);
        }
        return await client.SendAsync(request);
    }

    private static byte[] JsonArray(IEnumerable<byte[]> messages) =>
        Encoding.UTF8.GetBytes("[" + string.Join(",", messages.Select(m => Encoding.UTF8.GetString(m))) + "]");
}
