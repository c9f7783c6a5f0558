using System.Globalization;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace MaestroSla.Local.Traffic;

/// <summary>
/// Seeded OTLP trace exports shaped like what an ASP.NET Core app instrumented with OpenTelemetry sends and what the
/// Collector's Kafka exporter writes (otlp_proto): one service's batch of spans per export, 4 in 5 of them SERVER
/// spans with the attributes the ASP.NET Core instrumentation records, the others CLIENT spans of outgoing calls.
/// Latencies are lognormal per route, 2 % of requests answer 5xx. For the benchmarks, so that decoding is measured on
/// spans as heavy as real ones.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
public sealed class OtlpExports
{
    /// <summary>Routes per service: 1,000 series are 10 services × 100 routes.</summary>
    public const int RoutesPerService = 100;

    private static readonly string[] Methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"];

    private readonly Random _random;
    private readonly int _spansPerExport;
    private readonly double _errorRate;
    private readonly (string Service, Resource Resource)[] _services;
    private readonly (string Method, string Route, string Path, double MedianMs)[] _routes;
    private readonly InstrumentationScope _scope = new() { Name = "Microsoft.AspNetCore", Version = "10.0.0" };

    /// <param name="series">Services × routes; services are <paramref name="series"/> / <see cref="RoutesPerService"/> (at least one).</param>
    public OtlpExports(int series, int spansPerExport, double errorRate, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(series, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(spansPerExport, 1);
        _random = new Random(seed);
        _spansPerExport = spansPerExport;
        _errorRate = errorRate;
        var services = Math.Max(1, series / RoutesPerService);
        var routes = Math.Min(series, RoutesPerService);
        _services = new (string, Resource)[services];
        _routes = new (string, string, string, double)[routes];
        for (var s = 0; s < services; s++)
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"svc-{s:D3}");
            var resource = new Resource();
            resource.Attributes.Add(Text("service.name", name));
            var instance = new byte[16];
            _random.NextBytes(instance);
            resource.Attributes.Add(Text("service.instance.id", new Guid(instance).ToString()));
            resource.Attributes.Add(Text("telemetry.sdk.name", "opentelemetry"));
            resource.Attributes.Add(Text("telemetry.sdk.language", "dotnet"));
            resource.Attributes.Add(Text("telemetry.sdk.version", "1.13.0"));
            _services[s] = (name, resource);
        }
        for (var r = 0; r < routes; r++)
        {
            var method = Methods[r % Methods.Length];
            _routes[r] = (method, string.Create(CultureInfo.InvariantCulture, $"/api/area{r / 10}/items{r}/{{id}}"),
                string.Create(CultureInfo.InvariantCulture, $"/api/area{r / 10}/items{r}/"), 5 + (_random.NextDouble() * 120));
        }
    }

    /// <summary>Series the exports cover: services × routes.</summary>
    public int Series => _services.Length * _routes.Length;

    /// <summary>
    /// The next export: one service's spans ending at random in (<paramref name="end"/> − <paramref name="spread"/>,
    /// <paramref name="end"/>]. Says how many SERVER spans it holds and how many of them are errors (5xx).
    /// </summary>
    public ExportTraceServiceRequest Next(DateTimeOffset end, TimeSpan spread, out int serverSpans, out int errors)
    {
        serverSpans = 0;
        errors = 0;
        var (_, resource) = _services[_random.Next(_services.Length)];
        var scope = new ScopeSpans { Scope = _scope };
        var endNanos = (ulong)(end - DateTimeOffset.UnixEpoch).Ticks * 100;
        var spreadNanos = (ulong)spread.Ticks * 100;
        for (var i = 0; i < _spansPerExport; i++)
        {
            var (method, route, path, medianMs) = _routes[_random.Next(_routes.Length)];
            var spanEnd = endNanos - (ulong)(_random.NextDouble() * spreadNanos);
            var latencyNanos = (ulong)(Math.Min(60_000, medianMs * Math.Exp(0.6 * _random.Gaussian())) * 1_000_000);
            var span = new Span
            {
                TraceId = Id(16),
                SpanId = Id(8),
                StartTimeUnixNano = spanEnd - latencyNanos,
                EndTimeUnixNano = spanEnd,
            };
            if (i % 5 == 4)
            {
                // An outgoing call made while serving: CLIENT, which carries no request of this service.
                span.Kind = Span.Types.SpanKind.Client;
                span.Name = "GET";
                span.ParentSpanId = Id(8);
                span.Attributes.Add(Text("http.request.method", "GET"));
                span.Attributes.Add(Text("server.address", "inventory.internal"));
                span.Attributes.Add(Number("server.port", 8080));
                span.Attributes.Add(Text("url.full", "http://inventory.internal:8080/stock/" + i.ToString(CultureInfo.InvariantCulture)));
                span.Attributes.Add(Text("network.protocol.version", "1.1"));
                span.Attributes.Add(Number("http.response.status_code", 200));
                scope.Spans.Add(span);
                continue;
            }
            var status = _random.NextDouble() < _errorRate ? 503 : method == "POST" ? 201 : 200;
            span.Kind = Span.Types.SpanKind.Server;
            span.Name = method + " " + route;
            span.Attributes.Add(Text("server.address", "shop.example.com"));
            span.Attributes.Add(Number("server.port", 443));
            span.Attributes.Add(Text("http.request.method", method));
            span.Attributes.Add(Text("url.scheme", "https"));
            span.Attributes.Add(Text("url.path", path + _random.Next(100_000).ToString(CultureInfo.InvariantCulture)));
            span.Attributes.Add(Text("network.protocol.version", "2"));
            span.Attributes.Add(Text("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"));
            span.Attributes.Add(Text("http.route", route));
            span.Attributes.Add(Number("http.response.status_code", status));
            if (status >= 500)
            {
                span.Status = new Status { Code = Status.Types.StatusCode.Error };
                errors++;
            }
            serverSpans++;
            scope.Spans.Add(span);
        }
        var resourceSpans = new ResourceSpans { Resource = resource };
        resourceSpans.ScopeSpans.Add(scope);
        var export = new ExportTraceServiceRequest();
        export.ResourceSpans.Add(resourceSpans);
        return export;
    }

    private ByteString Id(int length)
    {
        System.Span<byte> bytes = stackalloc byte[16];
        _random.NextBytes(bytes[..length]);
        return ByteString.CopyFrom(bytes[..length]);
    }

    private static KeyValue Text(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    private static KeyValue Number(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };
}
