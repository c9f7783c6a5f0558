using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Otlp;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;
using Shouldly;

namespace MaestroSla.Tests.Otlp;

/// <summary>The decoder reads protobuf in place: what it takes from an export is what the OTLP messages say.</summary>
public sealed class OtlpSpanDecoderTests
{
    private static readonly DateTimeOffset Ended = DateTimeOffset.UtcNow.AddMinutes(-3);
    private readonly OtlpSpanDecoder _decoder = new(new ContractLimits(), TimeProvider.System);
    private readonly List<RequestMetric> _requests = [];

    [Fact]
    public void attributes_are_read_whatever_their_order_type_or_repetition_and_unknown_fields_are_skipped()
    {
        var newerNames = ServerSpan("GET", "/a/{id}", 200);
        newerNames.Attributes.Insert(0, Text("http.method", "POST"));        // older name, first: the newer one wins
        newerNames.Attributes.Add(Number("http.status_code", 503));          // a second status code: the first wins
        newerNames.Events.Add(new Span.Types.Event { Name = "exception", TimeUnixNano = 5 });
        newerNames.Links.Add(new Span.Types.Link { TraceId = ByteString.CopyFrom(new byte[16]) });
        var olderNames = ServerSpan(null, null, 0);
        olderNames.Attributes.Add(Text("http.method", "GET"));
        olderNames.Attributes.Add(Text("http.target", "/users/7?page=2"));
        olderNames.Attributes.Add(Text("http.status_code", "502"));          // as a string, as some SDKs send it
        var methodNotText = ServerSpan(null, "/b", 204);
        methodNotText.Attributes.Add(Number("http.request.method", 7));      // not a string: the route alone
        var nameOnly = ServerSpan(null, null, 404);
        nameOnly.Name = "consume orders";
        var statusError = ServerSpan("PUT", "/c", 200);
        statusError.Status = new Status { Code = Status.Types.StatusCode.Error, Message = "boom" };
        var client = ServerSpan("GET", "/d", 200);
        client.Kind = Span.Types.SpanKind.Client;

        var counts = _decoder.Decode(Export("svc", newerNames, olderNames, methodNotText, nameOnly, statusError, client).ToByteArray(), _requests);

        (counts.Accepted, counts.Ignored, counts.Rejected).ShouldBe((5L, 1L, 0L));
        _requests.Select(r => (r.Service, r.Endpoint, r.StatusCode, r.IsError)).ShouldBe(new (string, string, int?, bool)[]
        {
            ("svc", "GET /a/{id}", 200, false),
            ("svc", "GET /users/7", 502, true),
            ("svc", "/b", 204, false),
            ("svc", "consume orders", 404, false),
            ("svc", "PUT /c", 200, true),
        });
        _requests.ShouldAllBe(r => r.LatencyMicros == 12_346 && r.Timestamp == Ended);
    }

    [Fact]
    public void fields_in_any_order_and_fields_of_future_versions_are_read_as_protobuf_allows()
    {
        // The resource after the spans, and a field of every wire type OTLP 1.9 does not define, at every level.
        var span = ServerSpan("GET", "/late", 200).ToByteArray();
        var scopeSpans = Concat(Field(2, span), Unknown());
        var resource = new Resource { Attributes = { Text("service.name", "svc-late") } }.ToByteArray();
        var resourceSpans = Concat(Field(2, scopeSpans), Unknown(), Field(1, resource));
        var export = Concat(Unknown(), Field(1, resourceSpans));

        var counts = _decoder.Decode(export, _requests);

        counts.Accepted.ShouldBe(1);
        _requests.ShouldHaveSingleItem().ShouldSatisfyAllConditions(
            r => r.Service.ShouldBe("svc-late"),
            r => r.Endpoint.ShouldBe("GET /late"));
        ExportTraceServiceRequest.Parser.ParseFrom(export).ResourceSpans.ShouldHaveSingleItem().Resource.Attributes.ShouldHaveSingleItem();
    }

    [Fact]
    public void refused_spans_are_named_with_the_first_reason_and_kept_as_sent()
    {
        var badStatus = ServerSpan("GET", "/a", 200);
        badStatus.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { BoolValue = true } });
        badStatus.Attributes.RemoveAt(2);
        var pipe = ServerSpan("GET", "/a|b", 200);
        var good = ServerSpan("GET", "/a", 200);
        var refused = new ExportTraceServiceRequest();

        var counts = _decoder.Decode(Export("svc", badStatus, good, pipe).ToByteArray(), _requests, refused);

        (counts.Accepted, counts.Rejected).ShouldBe((1L, 2L));
        counts.FirstRejection.ShouldBe("attribute 'http.response.status_code' must be an integer");
        refused.ResourceSpans.ShouldHaveSingleItem().ScopeSpans.ShouldHaveSingleItem().Spans.ShouldBe(new[] { badStatus, pipe });
        refused.ResourceSpans[0].Resource.Attributes.ShouldContain(a => a.Key == "service.name");

        var noService = Export("svc", good);
        noService.ResourceSpans[0].Resource.Attributes.Clear();
        _decoder.Decode(noService.ToByteArray(), _requests).FirstRejection.ShouldBe("resource attribute 'service.name' is missing");
        var numberService = Export("svc", good);
        numberService.ResourceSpans[0].Resource.Attributes[0] = Number("service.name", 3);
        _decoder.Decode(numberService.ToByteArray(), _requests).FirstRejection.ShouldBe("resource attribute 'service.name' must be a string");
    }

    [Fact]
    public void bytes_that_are_no_export_are_refused_whole_and_nothing_of_them_is_taken()
    {
        // The second span ends in a field of wire type 7, which protobuf does not have: found after the first was read.
        var good = ServerSpan("GET", "/a", 200).ToByteArray();
        var broken = Concat(ServerSpan("GET", "/b", 200).ToByteArray(), new byte[] { 0x0F });
        var resource = new Resource { Attributes = { Text("service.name", "svc") } }.ToByteArray();
        var export = Field(1, Concat(Field(1, resource), Field(2, Concat(Field(2, good), Field(2, broken)))));
        _decoder.Decode(Field(1, Concat(Field(1, resource), Field(2, Field(2, good)))), _requests).Accepted.ShouldBe(1, "the same without the broken span");

        Should.Throw<OtlpFormatException>(() => _decoder.Decode(export, _requests)).Message.ShouldContain("wire type 7");
        _requests.ShouldBeEmpty("all or nothing");
        Should.Throw<OtlpFormatException>(() => _decoder.Decode(export.AsSpan(0, export.Length - 5), _requests)).Message.ShouldContain("truncated");
        Should.Throw<OtlpFormatException>(() => _decoder.Decode("{\"resourceSpans\":[]}"u8, _requests)).Message.ShouldContain("wire type");
        Should.Throw<OtlpFormatException>(() => _decoder.Decode(new byte[] { 0x0a, 0xff, 0xff, 0x01 }, _requests)).Message.ShouldContain("truncated");
        _decoder.Decode(Array.Empty<byte>(), _requests).Total.ShouldBe(0, "an empty export is valid protobuf");
    }

    private static Span ServerSpan(string? method, string? route, int status)
    {
        var span = OtlpSpansBuilder.Server(method ?? "GET", route ?? "/", status == 0 ? 200 : status, Ended, 12_345_678);
        span.Attributes.Clear();
        if (method is not null)
        {
            span.Attributes.Add(Text("http.request.method", method));
        }
        if (route is not null)
        {
            span.Attributes.Add(Text("http.route", route));
        }
        if (status != 0)
        {
            span.Attributes.Add(Number("http.response.status_code", status));
        }
        return span;
    }

    private static ExportTraceServiceRequest Export(string service, params Span[] spans) => OtlpSpansBuilder.Export(service, spans);

    private static KeyValue Text(string key, string value) => OtlpSpansBuilder.Attribute(key, value);

    private static KeyValue Number(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    private static byte[] Field(int number, byte[] message)
    {
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true))
        {
            output.WriteTag(number, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(message));
        }
        return stream.ToArray();
    }

    /// <summary>Fields 90–93 of every wire type but groups.</summary>
    private static byte[] Unknown()
    {
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true))
        {
            output.WriteTag(90, WireFormat.WireType.Varint);
            output.WriteUInt64(ulong.MaxValue);
            output.WriteTag(91, WireFormat.WireType.Fixed64);
            output.WriteFixed64(7);
            output.WriteTag(92, WireFormat.WireType.LengthDelimited);
            output.WriteString("from the future");
            output.WriteTag(93, WireFormat.WireType.Fixed32);
            output.WriteFixed32(9);
        }
        return stream.ToArray();
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
