using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Otlp;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;
using Shouldly;

namespace MaestroSla.Tests.Customers;

/// <summary>A SERVER span's customer is its customer attribute (tenant.id unless configured), else its resource's.</summary>
[Collection(SharedServices.Name)]
public sealed class OtlpCustomerTests(ServicesFixture services)
{
    private static readonly DateTimeOffset Ended = DateTimeOffset.UtcNow.AddMinutes(-3);

    [Fact]
    public void the_spans_attribute_wins_over_the_resources_and_without_either_there_is_no_customer()
    {
        var decoder = new OtlpSpanDecoder(new ContractLimits(), TimeProvider.System);
        var own = ServerSpan("/own", ("tenant.id", "acme"));
        var inherited = ServerSpan("/inherited");
        var otherName = ServerSpan("/other-name", ("customer.name", "globex"));
        var withResource = OtlpSpansBuilder.Export("svc", [own, inherited, otherName]);
        withResource.ResourceSpans[0].Resource.Attributes.Add(OtlpSpansBuilder.Attribute("tenant.id", "initech"));
        var withoutResource = OtlpSpansBuilder.Export("svc", [ServerSpan("/none")]);
        var requests = new List<RequestMetric>();

        decoder.Decode(Concat(withResource, withoutResource).ToByteArray(), requests).Accepted.ShouldBe(4);

        requests.Select(r => (r.Endpoint, r.Customer)).ShouldBe(
            [("GET /own", "acme"), ("GET /inherited", "initech"), ("GET /other-name", "initech"), ("GET /none", null)]);
    }

    [Fact]
    public void a_configured_attribute_replaces_tenant_id()
    {
        var decoder = new OtlpSpanDecoder(new ContractLimits(), TimeProvider.System, new OtlpOptions { CustomerAttribute = "customer.name" });
        var export = OtlpSpansBuilder.Export("svc", [ServerSpan("/a", ("tenant.id", "acme")), ServerSpan("/b", ("customer.name", "globex"))]);
        var requests = new List<RequestMetric>();

        decoder.Decode(export.ToByteArray(), requests).Accepted.ShouldBe(2);

        requests.Select(r => r.Customer).ShouldBe([null, "globex"]);
    }

    [Fact]
    public void a_bad_customer_refuses_its_span_with_the_reason_and_the_others_are_taken()
    {
        var decoder = new OtlpSpanDecoder(new ContractLimits(), TimeProvider.System);
        var empty = ServerSpan("/empty", ("tenant.id", ""));
        var piped = ServerSpan("/piped", ("tenant.id", "a|b"));
        var number = ServerSpan("/number");
        number.Attributes.Add(new KeyValue { Key = "tenant.id", Value = new AnyValue { IntValue = 7 } });
        var good = ServerSpan("/good", ("tenant.id", "acme"));
        var badResource = OtlpSpansBuilder.Export("svc-2", [ServerSpan("/inherits-bad"), ServerSpan("/own-good", ("tenant.id", "acme"))]);
        badResource.ResourceSpans[0].Resource.Attributes.Add(OtlpSpansBuilder.Attribute("tenant.id", new string('t', 201)));
        var requests = new List<RequestMetric>();
        var refused = new ExportTraceServiceRequest();

        var counts = decoder.Decode(Concat(OtlpSpansBuilder.Export("svc", [empty, piped, number, good]), badResource).ToByteArray(), requests, refused);

        (counts.Accepted, counts.Rejected).ShouldBe((2L, 4L));
        counts.FirstRejection.ShouldBe("attribute 'tenant.id' must not be empty");
        requests.Select(r => (r.Service, r.Endpoint, r.Customer)).ShouldBe([("svc", "GET /good", "acme"), ("svc-2", "GET /own-good", "acme")]);
        refused.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans).Select(s => s.Name)
            .ShouldBe(["GET /empty", "GET /piped", "GET /number", "GET /inherits-bad"]);
        var reasons = new List<string>();
        foreach (var span in new[] { piped, number })
        {
            reasons.Add(decoder.Decode(OtlpSpansBuilder.Export("svc", [span]).ToByteArray(), requests).FirstRejection!);
        }
        reasons.ShouldBe(["attribute 'tenant.id' must not contain '|', which separates the parts of read-model keys", "attribute 'tenant.id' must be a string"]);
        decoder.Decode(badResource.ToByteArray(), requests).FirstRejection
            .ShouldBe("resource attribute 'tenant.id' must be at most 200 characters (Contract:MaxNameLength)");
    }

    [Fact]
    public async Task spans_posted_to_v1_traces_are_stored_per_customer_under_the_configured_attribute()
    {
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(http.ConnectionString, new Dictionary<string, string?>
        {
            ["Ingest:Otlp:CustomerAttribute"] = "app.customer",
        });
        var expected = new CustomerTraffic();
        var spans = new List<Span>();
        for (var i = 0; i < 90; i++)
        {
            var customer = (i % 3) switch { 0 => "acme", 1 => "globex", _ => null };
            var latencyNanos = (i + 1) * 1_000_000L;
            var status = i % 10 == 0 ? 503 : 200;
            var at = Ended.AddSeconds(-i * 2);
            var span = OtlpSpansBuilder.Server("GET", "/orders", status, at, latencyNanos);
            if (customer is not null)
            {
                span.Attributes.Add(OtlpSpansBuilder.Attribute("app.customer", customer));
            }
            // tenant.id is not the configured attribute here: it names nothing.
            span.Attributes.Add(OtlpSpansBuilder.Attribute("tenant.id", "ignored"));
            spans.Add(span);
            // The span ends at a whole tick: its end is the request's time exactly.
            expected.Add("checkout", "GET /orders", latencyNanos / 1_000, status, at, customer);
        }
        using var content = new ByteArrayContent(OtlpSpansBuilder.Export("checkout", spans).ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");

        var response = await app.Client.PostAsync("/v1/traces", content);

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).PartialSuccess.ShouldBeNull();
        await CustomerTraffic.ShouldBeStoredAsync(http.Store, expected.ByCustomerMinute, expected.ByService);
    }

    private static Span ServerSpan(string route, params (string Key, string Value)[] attributes)
    {
        var span = OtlpSpansBuilder.Server("GET", route, 200, Ended, 2_000_000);
        foreach (var (key, value) in attributes)
        {
            span.Attributes.Add(OtlpSpansBuilder.Attribute(key, value));
        }
        return span;
    }

    private static ExportTraceServiceRequest Concat(params ExportTraceServiceRequest[] exports)
    {
        var all = new ExportTraceServiceRequest();
        foreach (var export in exports)
        {
            all.ResourceSpans.AddRange(export.ResourceSpans);
        }
        return all;
    }
}
