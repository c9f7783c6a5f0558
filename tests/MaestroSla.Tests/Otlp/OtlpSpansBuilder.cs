using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace MaestroSla.Tests.Otlp;

/// <summary>OTLP export requests with spans whose every field the test chose.</summary>
public static class OtlpSpansBuilder
{
    public static ExportTraceServiceRequest Export(string service, IEnumerable<Span> spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "tests" } };
        scope.Spans.AddRange(spans);
        var resource = new Resource();
        resource.Attributes.Add(Attribute("service.name", service));
        var resourceSpans = new ResourceSpans { Resource = resource };
        resourceSpans.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    public static Span Server(string method, string route, int status, DateTimeOffset end, long latencyNanos, bool statusError = false)
    {
        var endNanos = (ulong)(end - DateTimeOffset.UnixEpoch).Ticks * 100;
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
            SpanId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray(), 0, 8),
            Name = $"{method} {route}",
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = endNanos - (ulong)latencyNanos,
            EndTimeUnixNano = endNanos,
        };
        span.Attributes.Add(Attribute("http.request.method", method));
        span.Attributes.Add(Attribute("http.route", route));
        span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = status } });
        if (statusError)
        {
            span.Status = new Status { Code = Status.Types.StatusCode.Error };
        }
        return span;
    }

    public static Span Client(DateTimeOffset end)
    {
        var span = Server("GET", "/downstream", 200, end, 1_000_000);
        span.Kind = Span.Types.SpanKind.Client;
        return span;
    }

    public static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
}
