using System.Diagnostics.Metrics;
using System.Globalization;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace MaestroSla.Ingest.Otlp;

/// <summary>What became of an OTLP export's spans.</summary>
public struct OtlpSpanCounts
{
    /// <summary>SERVER spans taken as request metrics.</summary>
    public long Accepted { get; set; }

    /// <summary>Spans of other kinds, which carry no request an SLA measures.</summary>
    public long Ignored { get; set; }

    /// <summary>SERVER spans refused, with the first reason (what partial_success reports).</summary>
    public long Rejected { get; set; }

    public string? FirstRejection { get; set; }
}

/// <summary>
/// Turns OTLP SERVER spans into request metrics under the wire contract's rules (<see cref="ContractLimits"/>):
/// service = resource <c>service.name</c>; endpoint = <c>http.request.method</c> + <c>http.route</c> (older
/// <c>http.method</c> / <c>http.target</c> accepted, the span name otherwise); latency = end − start; error = status
/// ERROR or an HTTP status of 500 or more; time = the span's end. Spans of other kinds are ignored and counted.
/// </summary>
/// <remarks>Not thread-safe (it caches endpoint names): one per request or per consumer.</remarks>
public sealed class OtlpSpanDecoder
{
    public const string MeterName = "MaestroSla.Otlp";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Spans = Meter.CreateCounter<long>(
        "maestrosla.otlp.spans", unit: "{span}", description: "OTLP spans received, by outcome (stored, ignored: not SERVER, rejected)");

    private const long NanosPerMicro = 1_000;
    private const long NanosPerTick = 100;

    private readonly TimeProvider _time;
    private readonly ContractLimits _limits;
    private readonly long _maxLatencyNanos;
    private readonly Dictionary<(string Method, string Route), string> _endpoints = [];

    public OtlpSpanDecoder(ContractLimits limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        // The same sanity checks as the JSON contract's decoder (it throws on nonsensical limits).
        _ = new TelemetryDecoder(limits, time);
        _limits = limits;
        _time = time;
        _maxLatencyNanos = limits.MaxLatency.Ticks * NanosPerTick;
    }

    /// <summary>Adds the request of every acceptable SERVER span to <paramref name="batch"/>.</summary>
    public OtlpSpanCounts AddTo(ExportTraceServiceRequest request, IngestBatch batch)
    {
        var counts = new OtlpSpanCounts();
        var now = _time.GetUtcNow();
        var earliest = now - _limits.MaxAge;
        var latest = now + _limits.MaxFutureSkew;
        foreach (var resourceSpans in request.ResourceSpans)
        {
            string? service = null;
            var serviceProblem = resourceSpans.Resource is { } resource
                ? ReadService(resource.Attributes, out service)
                : "resource attribute 'service.name' is missing";
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                foreach (var span in scopeSpans.Spans)
                {
                    if (span.Kind != Span.Types.SpanKind.Server)
                    {
                        counts.Ignored++;
                        continue;
                    }
                    RequestMetric metric = default;
                    var problem = serviceProblem ?? ToRequest(service!, span, earliest, latest, out metric);
                    if (problem is null)
                    {
                        batch.Add(DecodedMessage.FromRequest(metric));
                        counts.Accepted++;
                    }
                    else
                    {
                        counts.Rejected++;
                        if (counts.FirstRejection is null)
                        {
                            counts.FirstRejection = problem;
                        }
                    }
                }
            }
        }
        return counts;
    }

    /// <summary>Counts what was stored (only once it was: a refused export is sent again).</summary>
    public static void CountStored(in OtlpSpanCounts counts)
    {
        Spans.Add(counts.Accepted, new KeyValuePair<string, object?>("outcome", "stored"));
        Spans.Add(counts.Ignored, new KeyValuePair<string, object?>("outcome", "ignored"));
        Spans.Add(counts.Rejected, new KeyValuePair<string, object?>("outcome", "rejected"));
    }

    private string? ReadService(Google.Protobuf.Collections.RepeatedField<KeyValue> attributes, out string? service)
    {
        service = null;
        foreach (var attribute in attributes)
        {
            if (attribute.Key == "service.name")
            {
                if (attribute.Value?.ValueCase != AnyValue.ValueOneofCase.StringValue)
                {
                    return "resource attribute 'service.name' must be a string";
                }
                service = attribute.Value.StringValue;
                return CheckName(service, "resource attribute 'service.name'");
            }
        }
        return "resource attribute 'service.name' is missing";
    }

    private string? ToRequest(string service, Span span, DateTimeOffset earliest, DateTimeOffset latest, out RequestMetric metric)
    {
        metric = default;
        string? method = null, route = null, target = null;
        int? status = null;
        foreach (var attribute in span.Attributes)
        {
            switch (attribute.Key)
            {
                case "http.request.method":
                    method = attribute.Value?.StringValue;
                    break;
                case "http.method":
                    method ??= attribute.Value?.StringValue;
                    break;
                case "http.route":
                    route = attribute.Value?.StringValue;
                    break;
                case "http.target":
                    target = attribute.Value?.StringValue;
                    break;
                case "http.response.status_code":
                case "http.status_code":
                    if (status is null)
                    {
                        var problem = ReadStatus(attribute, out status);
                        if (problem is not null)
                        {
                            return problem;
                        }
                    }
                    break;
            }
        }

        if (string.IsNullOrEmpty(route) && !string.IsNullOrEmpty(target))
        {
            // A target is a path with its query: the query would make every request an endpoint of its own.
            var query = target.IndexOf('?', StringComparison.Ordinal);
            route = query < 0 ? target : target[..query];
        }
        var endpoint = string.IsNullOrEmpty(route)
            ? span.Name
            : string.IsNullOrEmpty(method) ? route : Endpoint(method, route);
        var nameProblem = CheckName(endpoint, string.IsNullOrEmpty(route) ? "span name" : "endpoint (http.request.method + http.route)");
        if (nameProblem is not null)
        {
            return nameProblem;
        }

        if (span.EndTimeUnixNano == 0 || span.StartTimeUnixNano == 0)
        {
            return "span start and end times are required";
        }
        if (span.EndTimeUnixNano < span.StartTimeUnixNano)
        {
            return "span ends before it starts";
        }
        var latencyNanos = span.EndTimeUnixNano - span.StartTimeUnixNano;
        if (latencyNanos > (ulong)_maxLatencyNanos)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span duration exceeds the maximum latency of {_limits.MaxLatency} (Contract:MaxLatency)");
        }
        if (span.EndTimeUnixNano / NanosPerTick > (ulong)(DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks))
        {
            return "span end time is out of range";
        }
        var end = DateTimeOffset.UnixEpoch.AddTicks((long)(span.EndTimeUnixNano / NanosPerTick));
        if (end < earliest)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span ended {end:O}, before the accepted window (Contract:MaxAge {_limits.MaxAge})");
        }
        if (end > latest)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span ended {end:O}, in the future (Contract:MaxFutureSkew {_limits.MaxFutureSkew})");
        }

        var isError = span.Status?.Code == Status.Types.StatusCode.Error || status >= 500;
        var micros = (long)((latencyNanos + (NanosPerMicro / 2)) / NanosPerMicro);
        metric = new RequestMetric(service, endpoint, micros, status, isError, end);
        return null;
    }

    private string Endpoint(string method, string route)
    {
        if (!_endpoints.TryGetValue((method, route), out var endpoint))
        {
            endpoint = method + " " + route;
            if (_endpoints.Count < 10_000)
            {
                _endpoints.Add((method, route), endpoint);
            }
        }
        return endpoint;
    }

    private static string? ReadStatus(KeyValue attribute, out int? status)
    {
        status = null;
        long value;
        switch (attribute.Value?.ValueCase)
        {
            case AnyValue.ValueOneofCase.IntValue:
                value = attribute.Value.IntValue;
                break;
            case AnyValue.ValueOneofCase.StringValue when long.TryParse(attribute.Value.StringValue, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed):
                value = parsed;
                break;
            default:
                return $"attribute '{attribute.Key}' must be an integer";
        }
        if (value is < 100 or > 599)
        {
            return $"attribute '{attribute.Key}' must be an HTTP status code from 100 to 599";
        }
        status = (int)value;
        return null;
    }

    private string? CheckName(string? name, string what)
    {
        if (string.IsNullOrEmpty(name))
        {
            return $"{what} must not be empty";
        }
        if (name.Length > _limits.MaxNameLength)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{what} must be at most {_limits.MaxNameLength} characters (Contract:MaxNameLength)");
        }
        foreach (var c in name)
        {
            if (c == '|')
            {
                return $"{what} must not contain '|', which separates the parts of read-model keys";
            }
            if (char.IsControl(c))
            {
                return $"{what} must not contain control characters";
            }
        }
        return null;
    }
}
