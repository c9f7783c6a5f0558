using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using MaestroSla.Contracts.Latency;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Security;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Shouldly;

namespace MaestroSla.Tests.Otlp;

[Collection(SharedServices.Name)]
public sealed class OtlpReceiverTests(ServicesFixture services)
{
    [Fact]
    public async Task server_spans_in_gzipped_protobuf_become_requests_and_other_kinds_are_ignored()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await SecuredApp.StartAsync(http.ConnectionString);
        var ended = DateTimeOffset.UtcNow.AddMinutes(-5);
        var spans = new List<OpenTelemetry.Proto.Trace.V1.Span>();
        for (var i = 0; i < 100; i++)
        {
            // Latencies of (i + 1) ms and 0.4 µs: the stored microseconds round to the nearest.
            spans.Add(OtlpSpansBuilder.Server("GET", "/orders/{id}", i % 10 == 0 ? 503 : 200, ended, ((i + 1) * 1_000_000L) + 400));
        }
        spans.Add(OtlpSpansBuilder.Server("POST", "/orders", 201, ended, 7_000_600, statusError: true));
        spans.Add(OtlpSpansBuilder.Client(ended));
        var export = OtlpSpansBuilder.Export("checkout", spans);

        using var client = app.CreateClient(SecuredApp.IngestKey);
        var response = await client.PostAsync("/v1/traces", Protobuf(export.ToByteArray(), gzip: true));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/x-protobuf");
        var answer = ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        answer.PartialSuccess.ShouldBeNull();

        var events = await http.StoredRequestEventsAsync();
        var byEndpoint = events.GroupBy(e => (e.Service, e.Endpoint)).ToDictionary(g => g.Key, g => g.SelectMany(e => e.Minutes).ToList());
        byEndpoint.Keys.ShouldBe([("checkout", "GET /orders/{id}"), ("checkout", "POST /orders")], ignoreOrder: true);
        var orders = byEndpoint[("checkout", "GET /orders/{id}")];
        orders.Sum(m => m.Requests).ShouldBe(100);
        orders.Sum(m => m.Errors).ShouldBe(10);
        var histogram = new LatencyHistogram();
        foreach (var minute in orders)
        {
            histogram.AddEncoded(minute.Latency);
        }
        ((double)histogram.GetValueAtPercentile(50)).ShouldBe(50_000, tolerance: 50);
        ((double)histogram.GetValueAtPercentile(100)).ShouldBe(100_000, tolerance: 100);
        var post = byEndpoint[("checkout", "POST /orders")].ShouldHaveSingleItem();
        (post.Requests, post.Errors, post.Minute).ShouldBe((1L, 1L, new DateTimeOffset(ended.UtcTicks / TimeSpan.TicksPerMinute * TimeSpan.TicksPerMinute, TimeSpan.Zero)));
        ((double)LatencyHistogram.Decode(post.Latency).GetValueAtPercentile(50)).ShouldBe(7_001, tolerance: 7);
    }

    [Fact]
    public async Task partly_bad_json_is_a_200_with_partial_success_and_only_the_good_spans_are_stored()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var ended = DateTimeOffset.UtcNow.AddMinutes(-2);
        var good = OtlpSpansBuilder.Server("GET", "/a", 200, ended, 2_000_000);
        var endsBeforeStart = OtlpSpansBuilder.Server("GET", "/a", 200, ended, 2_000_000);
        (endsBeforeStart.StartTimeUnixNano, endsBeforeStart.EndTimeUnixNano) = (endsBeforeStart.EndTimeUnixNano, endsBeforeStart.StartTimeUnixNano);
        var tooOld = OtlpSpansBuilder.Server("GET", "/a", 200, DateTimeOffset.UtcNow.AddDays(-90), 2_000_000);
        var json = JsonFormatter.Default.Format(OtlpSpansBuilder.Export("web", [good, endsBeforeStart, good.Clone(), tooOld]));

        var response = await app.Client.PostAsync("/v1/traces", new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        var answer = JsonParser.Default.Parse<ExportTraceServiceResponse>(await response.Content.ReadAsStringAsync());
        answer.PartialSuccess.RejectedSpans.ShouldBe(2);
        answer.PartialSuccess.ErrorMessage.ShouldContain("span ends before it starts");
        (await http.StoredRequestsAsync()).ShouldBe(2);
    }

    [Fact]
    public async Task otlp_json_as_exporters_write_it_with_hex_ids_and_integer_enums_is_read()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var end = (DateTimeOffset.UtcNow.AddMinutes(-1) - DateTimeOffset.UnixEpoch).Ticks * 100;
        var json = $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"js-app"}}]},
              "scopeSpans":[{"scope":{"name":"x"},"spans":[
                {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"GET /users/:id","kind":2,
                 "startTimeUnixNano":"{{{end - 12_345_000}}}","endTimeUnixNano":"{{{end}}}",
                 "attributes":[{"key":"http.method","value":{"stringValue":"GET"}},{"key":"http.target","value":{"stringValue":"/users/7?x=1"}},
                               {"key":"http.status_code","value":{"intValue":"500"}},{"key":"something.new","value":{"boolValue":true}}],
                 "status":{"code":0},"futureField":1}]}]}]}
            """;

        var response = await app.Client.PostAsync("/v1/traces", new StringContent(json, Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var stored = (await http.StoredRequestEventsAsync()).ShouldHaveSingleItem();
        (stored.Service, stored.Endpoint).ShouldBe(("js-app", "GET /users/7"));
        var minute = stored.Minutes.ShouldHaveSingleItem();
        (minute.Requests, minute.Errors).ShouldBe((1L, 1L));
        ((double)LatencyHistogram.Decode(minute.Latency).GetValueAtPercentile(50)).ShouldBe(12_345, tolerance: 12);
    }

    [Fact]
    public async Task unreadable_exports_are_400s_with_a_status_and_keys_and_types_are_checked()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await SecuredApp.StartAsync(http.ConnectionString);
        using var ingest = app.CreateClient(SecuredApp.IngestKey);

        var garbage = await ingest.PostAsync("/v1/traces", Protobuf([0x0a, 0xff, 0xff, 0x01], gzip: false));
        garbage.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var status = Google.Rpc.Status.Parser.ParseFrom(await garbage.Content.ReadAsByteArrayAsync());
        status.Code.ShouldBe(3);
        status.Message.ShouldContain("ExportTraceServiceRequest");

        var badGzip = new ByteArrayContent([1, 2, 3]);
        badGzip.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        badGzip.Headers.ContentEncoding.Add("gzip");
        (await ingest.PostAsync("/v1/traces", badGzip)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);

        var notJson = await ingest.PostAsync("/v1/traces", new StringContent("{\"resourceSpans\":[", Encoding.UTF8, "application/json"));
        notJson.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonParser.Default.Parse<Google.Rpc.Status>(await notJson.Content.ReadAsStringAsync()).Code.ShouldBe(3);

        (await ingest.PostAsync("/v1/traces", new StringContent("x", Encoding.UTF8, "text/plain"))).StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);

        var export = OtlpSpansBuilder.Export("s", [OtlpSpansBuilder.Server("GET", "/", 200, DateTimeOffset.UtcNow, 1000)]).ToByteArray();
        using var anonymous = app.CreateClient(apiKey: null);
        (await anonymous.PostAsync("/v1/traces", Protobuf(export, gzip: false))).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        using var reader = app.CreateClient(SecuredApp.ReadKey);
        (await reader.PostAsync("/v1/traces", Protobuf(export, gzip: false))).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        (await http.StoredRequestsAsync()).ShouldBe(0);
    }

    [Fact]
    public async Task an_export_retried_with_its_idempotency_key_is_stored_once()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString);
        var export = OtlpSpansBuilder.Export("s", Enumerable.Range(0, 20)
            .Select(i => OtlpSpansBuilder.Server("GET", "/x", 200, DateTimeOffset.UtcNow.AddMinutes(-1), 1_000_000 + i))).ToByteArray();

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = Protobuf(export, gzip: true) };
            request.Headers.Add(IdempotencyKeys.HeaderName, "export-1");
            (await app.Client.SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        (await http.StoredRequestsAsync()).ShouldBe(20);
    }

    [Fact]
    public async Task a_saturated_receiver_answers_429_with_retry_after_and_stores_nothing_of_the_export()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString, new Dictionary<string, string?>
        {
            // Every batch larger than the queue waits for an empty queue; a second one is refused while the first waits.
            ["Ingest:Http:MaxPendingMessages"] = "1",
            ["Ingest:Http:Writers"] = "1",
        });
        var exports = Enumerable.Range(0, 12).Select(n => OtlpSpansBuilder.Export("s", Enumerable.Range(0, 2_000)
            .Select(i => OtlpSpansBuilder.Server("GET", $"/e{n}", 200, DateTimeOffset.UtcNow.AddMinutes(-1), 1_000_000 + i))).ToByteArray()).ToList();

        var responses = await Task.WhenAll(exports.Select(e => app.Client.PostAsync("/v1/traces", Protobuf(e, gzip: false))));

        var refused = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        refused.ShouldNotBeEmpty();
        refused.ShouldAllBe(r => r.Headers.RetryAfter != null);
        var stored = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        (stored + refused.Count).ShouldBe(exports.Count);
        (await http.StoredRequestsAsync()).ShouldBe(stored * 2_000L);
    }

    internal static ByteArrayContent Protobuf(byte[] body, bool gzip)
    {
        if (gzip)
        {
            using var compressed = new MemoryStream();
            using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                zip.Write(body);
            }
            body = compressed.ToArray();
        }
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        if (gzip)
        {
            content.Headers.ContentEncoding.Add("gzip");
        }
        return content;
    }
}
