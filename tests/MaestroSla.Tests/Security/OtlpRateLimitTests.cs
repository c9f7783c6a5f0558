using System.Net;
using System.Text;
using Google.Protobuf;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Events;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Otlp;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Security;

[Collection(SharedServices.Name)]
public sealed class OtlpRateLimitTests(ServicesFixture services)
{
    private const string CollectorKey = "key-for-a-throttled-collector";

    [Fact]
    public async Task otlp_exports_share_their_keys_rate_limit_with_api_ingest_and_are_refused_with_an_otlp_status_and_retry_after()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString, new Dictionary<string, string?>
        {
            ["Security:ApiKeys:6:Name"] = "throttled-collector",
            ["Security:ApiKeys:6:KeyHash"] = ApiKeyHash.Of(CollectorKey),
            ["Security:ApiKeys:6:Roles:0"] = ApiRoles.Ingest,
            ["Security:ApiKeys:6:PermitLimit"] = "3",
            // A window no run of this test outlasts, so that the count cannot start over half-way.
            ["Security:RateLimit:Window"] = "00:10:00",
        });
        using var collector = app.CreateClient(CollectorKey);
        var ended = DateTimeOffset.UtcNow.AddMinutes(-1);
        var export = OtlpSpansBuilder.Export("throttled", [OtlpSpansBuilder.Server("GET", "/a", 200, ended, 1_000_000)]);

        for (var i = 0; i < 2; i++)
        {
            (await collector.PostAsync("/v1/traces", OtlpReceiverTests.Protobuf(export.ToByteArray(), gzip: false))).StatusCode.ShouldBe(HttpStatusCode.OK, $"export {i + 1}");
        }
        // One window per key, whichever ingest endpoint it calls.
        var message = Encoding.UTF8.GetString(TestTraffic.Request("throttled", "GET /a", 1, 200, ended));
        using (var json = new StringContent($"[{message}]", Encoding.UTF8, "application/json"))
        {
            (await collector.PostAsync("/api/ingest", json)).StatusCode.ShouldBe(HttpStatusCode.OK, "the third request of the key");
        }

        var refused = await collector.PostAsync("/v1/traces", OtlpReceiverTests.Protobuf(export.ToByteArray(), gzip: false));
        refused.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta!.Value.ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        // As OTLP/HTTP wants a 4xx: a google.rpc.Status in the request's encoding, which exporters log.
        refused.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-protobuf");
        var status = Google.Rpc.Status.Parser.ParseFrom(await refused.Content.ReadAsByteArrayAsync());
        status.Code.ShouldBe(8, "RESOURCE_EXHAUSTED");
        status.Message.ShouldContain("API key 'throttled-collector'");

        using (var otlpJson = new StringContent(JsonFormatter.Default.Format(export), Encoding.UTF8, "application/json"))
        {
            var refusedJson = await collector.PostAsync("/v1/traces", otlpJson);
            refusedJson.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
            refusedJson.Headers.RetryAfter.ShouldNotBeNull();
            var parsed = JsonParser.Default.Parse<Google.Rpc.Status>(await refusedJson.Content.ReadAsStringAsync());
            parsed.Code.ShouldBe(8);
        }
        using (var json = new StringContent($"[{message}]", Encoding.UTF8, "application/json"))
        {
            await (await collector.PostAsync("/api/ingest", json)).ShouldBeProblemAsync(429);
        }

        // Other keys go on; and of the refused exports nothing was stored.
        (await app.Client.PostAsync("/v1/traces", OtlpReceiverTests.Protobuf(export.ToByteArray(), gzip: false))).StatusCode.ShouldBe(HttpStatusCode.OK);
        await using var session = app.App.Services.GetRequiredService<IDocumentStore>().QuerySession();
        var stored = await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync();
        stored.Where(e => e.Service == "throttled").Sum(e => e.Minutes.Sum(m => m.Requests)).ShouldBe(4, "2 exports and 1 JSON batch of the throttled key, 1 export of the admin key");
    }
}
