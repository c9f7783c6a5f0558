using System.Buffers.Binary;
using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Resource.V1;
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

    /// <summary>Every span of the export.</summary>
    public readonly long Total => Accepted + Ignored + Rejected;
}

/// <summary>The bytes are not an OTLP ExportTraceServiceRequest in protobuf (truncated, or not protobuf at all).</summary>
public sealed class OtlpFormatException(string message) : Exception(message);

/// <summary>
/// Turns OTLP SERVER spans into request metrics under the wire contract's rules (<see cref="ContractLimits"/>):
/// service = resource <c>service.name</c>; endpoint = <c>http.request.method</c> + <c>http.route</c> (older
/// <c>http.method</c> / <c>http.target</c> accepted, the span name otherwise); latency = end − start; error = status
/// ERROR or an HTTP status of 500 or more; time = the span's end; customer = the span's
/// <see cref="OtlpOptions.CustomerAttribute"/>, else the resource's, else none. Spans of other kinds are ignored and counted.
/// </summary>
/// <remarks>
/// <para>It reads the protobuf encoding in place, field by field, and only the fields it needs: materialising every
/// span with Google.Protobuf costs dozens of objects per span (each attribute a key, a value and two strings),
/// which bounded the OTLP topic to a fraction of the JSON topic's rate. Exports in OTLP/JSON are parsed by
/// Google.Protobuf and read the same way, so one set of rules serves every way in.</para>
/// <para>Not thread-safe (it caches endpoint names and scratch space): one per request or per consumer.</para>
/// </remarks>
public sealed class OtlpSpanDecoder
{
    public const string MeterName = "MaestroSla.Otlp";

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Spans = Meter.CreateCounter<long>(
        "maestrosla.otlp.spans", unit: "{span}", description: "OTLP spans received, by outcome (stored, ignored: not SERVER, rejected)");

    private const long NanosPerMicro = 1_000;
    private const long NanosPerTick = 100;
    private const int MaxCachedNames = 10_000;
    private const string EndpointWhat = "endpoint (http.request.method + http.route)";

    // Protobuf wire types and the OTLP field numbers read here (opentelemetry/proto/**/*.proto, v1.9.0).
    private const int Varint = 0;
    private const int Fixed64 = 1;
    private const int Length = 2;
    private const int Fixed32 = 5;
    private const int StatusCodeError = 2;
    private const ulong SpanKindServer = 2;

    private readonly TimeProvider _time;
    private readonly ContractLimits _limits;
    private readonly long _maxLatencyNanos;
    // Endpoints and customers seen before, already checked against the contract, found by their characters without a new string.
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _namesByChars;
    private readonly byte[] _customerKey;
    private readonly string _customerWhat;
    private readonly string _resourceCustomerWhat;
    private readonly List<RequestMetric> _requests = [];
    private char[] _chars = new char[256];

    public OtlpSpanDecoder(ContractLimits limits, TimeProvider time, OtlpOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var customerAttribute = options?.CustomerAttribute ?? OtlpOptions.DefaultCustomerAttribute;
        ArgumentException.ThrowIfNullOrEmpty(customerAttribute, nameof(options));
        _customerKey = Encoding.UTF8.GetBytes(customerAttribute);
        _customerWhat = $"attribute '{customerAttribute}'";
        _resourceCustomerWhat = $"resource attribute '{customerAttribute}'";
        // The same sanity checks as the JSON contract's decoder (it throws on nonsensical limits).
        _ = new TelemetryDecoder(limits, time);
        _limits = limits;
        _time = time;
        _maxLatencyNanos = limits.MaxLatency.Ticks * NanosPerTick;
        _namesByChars = _names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Adds the request of every acceptable SERVER span to <paramref name="batch"/>.</summary>
    public OtlpSpanCounts AddTo(ExportTraceServiceRequest request, IngestBatch batch)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(batch);
        var counts = Decode(request.ToByteArray(), _requests);
        foreach (var metric in _requests)
        {
            batch.Add(DecodedMessage.FromRequest(metric));
        }
        return counts;
    }

    /// <summary>The same for an export parsed already (OTLP/JSON): see <see cref="Decode(ReadOnlySpan{byte}, List{RequestMetric}, ExportTraceServiceRequest?)"/>.</summary>
    public OtlpSpanCounts Decode(ExportTraceServiceRequest request, List<RequestMetric> requests, ExportTraceServiceRequest? refused = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Decode(request.ToByteArray(), requests, refused);
    }

    /// <summary>
    /// Puts the request of every acceptable SERVER span of the protobuf-encoded export into <paramref name="requests"/>
    /// (cleared first), in the export's order; with <paramref name="refused"/>, also the refused SERVER spans into that
    /// export, each under (a copy of) its resource and scope, so that they can be kept as sent. Throws
    /// <see cref="OtlpFormatException"/>, taking nothing, when the bytes are no export.
    /// </summary>
    public OtlpSpanCounts Decode(ReadOnlySpan<byte> export, List<RequestMetric> requests, ExportTraceServiceRequest? refused = null)
    {
        ArgumentNullException.ThrowIfNull(requests);
        requests.Clear();
        var counts = new OtlpSpanCounts();
        var now = _time.GetUtcNow();
        var window = (Earliest: now - _limits.MaxAge, Latest: now + _limits.MaxFutureSkew);
        try
        {
            var wire = new Wire(export);
            while (wire.More)
            {
                var (field, type) = wire.Tag();
                if (field == 1 && type == Length)
                {
                    ReadResourceSpans(wire.Bytes(), window, requests, refused, ref counts);
                }
                else
                {
                    wire.Skip(type);
                }
            }
            return counts;
        }
        catch (OtlpFormatException)
        {
            // All or nothing: an export that cannot be read to its end is not half taken.
            requests.Clear();
            refused?.ResourceSpans.Clear();
            throw;
        }
    }

    /// <summary>Counts what was stored (only once it was: a refused export is sent again).</summary>
    public static void CountStored(in OtlpSpanCounts counts)
    {
        Spans.Add(counts.Accepted, new KeyValuePair<string, object?>("outcome", "stored"));
        Spans.Add(counts.Ignored, new KeyValuePair<string, object?>("outcome", "ignored"));
        Spans.Add(counts.Rejected, new KeyValuePair<string, object?>("outcome", "rejected"));
    }

    private void ReadResourceSpans(
        ReadOnlySpan<byte> resourceSpans, (DateTimeOffset Earliest, DateTimeOffset Latest) window, List<RequestMetric> requests,
        ExportTraceServiceRequest? refused, ref OtlpSpanCounts counts)
    {
        // The resource first, wherever it lies among the fields: it names the service of every span.
        ReadOnlySpan<byte> resource = default;
        ReadOnlySpan<byte> schemaUrl = default;
        var hasResource = false;
        var serviceFound = false;
        string? service = null;
        string? serviceProblem = null;
        var customer = default(ResourceCustomer);
        var wire = new Wire(resourceSpans);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field == 1 && type == Length)
            {
                resource = wire.Bytes();
                hasResource = true;
                ReadService(resource, ref serviceFound, ref service, ref serviceProblem);
                customer = ReadResourceCustomer(resource);
            }
            else if (field == 3 && type == Length)
            {
                schemaUrl = wire.Bytes();
            }
            else
            {
                wire.Skip(type);
            }
        }
        if (!serviceFound)
        {
            serviceProblem = "resource attribute 'service.name' is missing";
        }

        ResourceSpans? refusedResource = null;
        wire = new Wire(resourceSpans);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field != 2 || type != Length)
            {
                wire.Skip(type);
                continue;
            }
            var scopeSpans = wire.Bytes();
            ReadOnlySpan<byte> scope = default;
            ReadOnlySpan<byte> scopeSchemaUrl = default;
            var hasScope = false;
            ScopeSpans? refusedScope = null;
            var scopeWire = new Wire(scopeSpans);
            while (scopeWire.More)
            {
                var (scopeField, scopeType) = scopeWire.Tag();
                if (scopeField == 1 && scopeType == Length)
                {
                    scope = scopeWire.Bytes();
                    hasScope = true;
                }
                else if (scopeField == 3 && scopeType == Length)
                {
                    scopeSchemaUrl = scopeWire.Bytes();
                }
                else
                {
                    scopeWire.Skip(scopeType);
                }
            }
            scopeWire = new Wire(scopeSpans);
            while (scopeWire.More)
            {
                var (scopeField, scopeType) = scopeWire.Tag();
                if (scopeField != 2 || scopeType != Length)
                {
                    scopeWire.Skip(scopeType);
                    continue;
                }
                var span = scopeWire.Bytes();
                var problem = ReadSpan(span, service, serviceProblem, customer, window, requests, ref counts);
                if (problem is null)
                {
                    continue;
                }
                counts.Rejected++;
                counts.FirstRejection ??= problem;
                if (refused is null)
                {
                    continue;
                }
                // Rare: the refused span is kept as sent, under its resource and scope.
                if (refusedResource is null)
                {
                    refusedResource = new ResourceSpans { Resource = hasResource ? Parse(Resource.Parser, resource) : null, SchemaUrl = Text(schemaUrl) };
                    refused.ResourceSpans.Add(refusedResource);
                }
                if (refusedScope is null)
                {
                    refusedScope = new ScopeSpans { Scope = hasScope ? Parse(InstrumentationScope.Parser, scope) : null, SchemaUrl = Text(scopeSchemaUrl) };
                    refusedResource.ScopeSpans.Add(refusedScope);
                }
                refusedScope.Spans.Add(Parse(Span.Parser, span));
            }
        }
    }

    /// <summary>The first <c>service.name</c> attribute of the resource decides: a valid name, or why there is none.</summary>
    private void ReadService(ReadOnlySpan<byte> resource, ref bool found, ref string? service, ref string? problem)
    {
        if (found || !TryFindAttribute(resource, "service.name"u8, out var value))
        {
            return;
        }
        found = true;
        if (value.Kind != AnyKind.String)
        {
            problem = "resource attribute 'service.name' must be a string";
            return;
        }
        service = Text(value.Text);
        problem = CheckName(service, "resource attribute 'service.name'");
    }

    /// <summary>
    /// The resource's customer attribute, as a default for its spans: the first one decides, checked once here and
    /// refused only for SERVER spans that do not name a customer of their own.
    /// </summary>
    private ResourceCustomer ReadResourceCustomer(ReadOnlySpan<byte> resource)
    {
        if (!TryFindAttribute(resource, _customerKey, out var value))
        {
            return default;
        }
        var problem = Customer(value, _resourceCustomerWhat, out var customer);
        return new ResourceCustomer(customer, problem);
    }

    /// <summary>The value of the resource's first attribute named <paramref name="name"/>; false when it has none.</summary>
    private static bool TryFindAttribute(ReadOnlySpan<byte> resource, ReadOnlySpan<byte> name, out AnyValueView value)
    {
        var wire = new Wire(resource);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field != 1 || type != Length)
            {
                wire.Skip(type);
                continue;
            }
            ReadKeyValue(wire.Bytes(), out var key, out value);
            if (key.SequenceEqual(name))
            {
                return true;
            }
        }
        value = default;
        return false;
    }

    /// <summary>Counts a span that is not SERVER, adds a SERVER span's request, or says why it is refused.</summary>
    private string? ReadSpan(
        ReadOnlySpan<byte> span, string? service, string? serviceProblem, ResourceCustomer resourceCustomer,
        (DateTimeOffset Earliest, DateTimeOffset Latest) window, List<RequestMetric> requests, ref OtlpSpanCounts counts)
    {
        // Scalars first (the kind decides whether anything else is read), attributes after.
        ulong kind = 0, start = 0, end = 0, statusCode = 0;
        ReadOnlySpan<byte> name = default;
        var wire = new Wire(span);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            switch (field)
            {
                case 5 when type == Length:
                    name = wire.Bytes();
                    break;
                case 6 when type == Varint:
                    kind = wire.Varint();
                    break;
                case 7 when type == Fixed64:
                    start = wire.Fixed64();
                    break;
                case 8 when type == Fixed64:
                    end = wire.Fixed64();
                    break;
                case 15 when type == Length:
                    statusCode = ReadStatusCode(wire.Bytes());
                    break;
                default:
                    wire.Skip(type);
                    break;
            }
        }
        if (kind != SpanKindServer)
        {
            counts.Ignored++;
            return null;
        }
        if (serviceProblem is not null)
        {
            return serviceProblem;
        }

        // Which attribute wins when several are there: the last method, route and target; http.method only without
        // http.request.method; the first status code and customer. A value of another type reads as empty (a
        // customer's is refused).
        ReadOnlySpan<byte> method = default, route = default, target = default;
        var hasMethod = false;
        int? status = null;
        var customer = resourceCustomer.Customer;
        var customerProblem = resourceCustomer.Problem;
        var hasCustomer = false;
        wire = new Wire(span);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field != 9 || type != Length)
            {
                wire.Skip(type);
                continue;
            }
            ReadKeyValue(wire.Bytes(), out var key, out var value);
            if (key.SequenceEqual("http.request.method"u8))
            {
                method = value.Text;
                hasMethod = value.Kind != AnyKind.None;
            }
            else if (key.SequenceEqual("http.method"u8))
            {
                if (!hasMethod)
                {
                    method = value.Text;
                    hasMethod = value.Kind != AnyKind.None;
                }
            }
            else if (key.SequenceEqual("http.route"u8))
            {
                route = value.Text;
            }
            else if (key.SequenceEqual("http.target"u8))
            {
                target = value.Text;
            }
            else if (status is null && (key.SequenceEqual("http.response.status_code"u8) || key.SequenceEqual("http.status_code"u8)))
            {
                var problem = ReadHttpStatus(key, value, out status);
                if (problem is not null)
                {
                    return problem;
                }
            }
            else if (!hasCustomer && key.SequenceEqual(_customerKey))
            {
                // The span's own wins over its resource's.
                hasCustomer = true;
                customerProblem = Customer(value, _customerWhat, out customer);
            }
        }
        if (customerProblem is not null)
        {
            return customerProblem;
        }

        if (route.IsEmpty && !target.IsEmpty)
        {
            // A target is a path with its query: the query would make every request an endpoint of its own.
            var query = target.IndexOf((byte)'?');
            route = query < 0 ? target : target[..query];
        }
        var endpointProblem = Endpoint(method, route, name, out var endpoint);
        if (endpointProblem is not null)
        {
            return endpointProblem;
        }

        if (end == 0 || start == 0)
        {
            return "span start and end times are required";
        }
        if (end < start)
        {
            return "span ends before it starts";
        }
        var latencyNanos = end - start;
        if (latencyNanos > (ulong)_maxLatencyNanos)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span duration exceeds the maximum latency of {_limits.MaxLatency} (Contract:MaxLatency)");
        }
        if (end / NanosPerTick > (ulong)(DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks))
        {
            return "span end time is out of range";
        }
        var ended = DateTimeOffset.UnixEpoch.AddTicks((long)(end / NanosPerTick));
        if (ended < window.Earliest)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span ended {ended:O}, before the accepted window (Contract:MaxAge {_limits.MaxAge})");
        }
        if (ended > window.Latest)
        {
            return string.Create(CultureInfo.InvariantCulture, $"span ended {ended:O}, in the future (Contract:MaxFutureSkew {_limits.MaxFutureSkew})");
        }

        var isError = statusCode == StatusCodeError || status >= 500;
        var micros = (long)((latencyNanos + (NanosPerMicro / 2)) / NanosPerMicro);
        requests.Add(new RequestMetric(service!, endpoint!, micros, status, isError, ended, customer));
        counts.Accepted++;
        return null;
    }

    /// <summary>
    /// The endpoint: method + " " + route, the route alone without a method, the span name without a route. Checked
    /// against the contract once per distinct name and then found by its characters, so known endpoints cost no string.
    /// </summary>
    private string? Endpoint(ReadOnlySpan<byte> method, ReadOnlySpan<byte> route, ReadOnlySpan<byte> name, out string? endpoint)
    {
        endpoint = null;
        var bytes = route.IsEmpty ? name.Length : route.Length + (method.IsEmpty ? 0 : method.Length + 1);
        if (bytes > _chars.Length)
        {
            // UTF-8 never takes fewer bytes than UTF-16 code units; past the name limit the check below refuses it.
            _chars = new char[Math.Max(bytes, _chars.Length * 2)];
        }
        int length;
        if (route.IsEmpty)
        {
            length = Encoding.UTF8.GetChars(name, _chars);
        }
        else if (method.IsEmpty)
        {
            length = Encoding.UTF8.GetChars(route, _chars);
        }
        else
        {
            length = Encoding.UTF8.GetChars(method, _chars);
            _chars[length++] = ' ';
            length += Encoding.UTF8.GetChars(route, _chars.AsSpan(length));
        }
        return CachedName(_chars.AsSpan(0, length), route.IsEmpty ? "span name" : EndpointWhat, out endpoint);
    }

    /// <summary>A customer attribute's value: a string, checked as names are.</summary>
    private string? Customer(in AnyValueView value, string what, out string? customer)
    {
        customer = null;
        if (value.Kind != AnyKind.String)
        {
            return $"{what} must be a string";
        }
        if (value.Text.Length > _chars.Length)
        {
            _chars = new char[Math.Max(value.Text.Length, _chars.Length * 2)];
        }
        var length = Encoding.UTF8.GetChars(value.Text, _chars);
        return CachedName(_chars.AsSpan(0, length), what, out customer);
    }

    /// <summary>The one string of a name, checked against the contract the first time it is seen, or why it is refused.</summary>
    private string? CachedName(ReadOnlySpan<char> chars, string what, out string? name)
    {
        if (_namesByChars.TryGetValue(chars, out name))
        {
            return null;
        }
        var text = chars.ToString();
        var problem = CheckName(text, what);
        if (problem is not null)
        {
            return problem;
        }
        if (_names.Count < MaxCachedNames)
        {
            _names.Add(text, text);
        }
        name = text;
        return null;
    }

    private static string? ReadHttpStatus(ReadOnlySpan<byte> key, in AnyValueView value, out int? status)
    {
        status = null;
        long number;
        switch (value.Kind)
        {
            case AnyKind.Int:
                number = value.Integer;
                break;
            case AnyKind.String when IsDigits(value.Text) && Utf8Parser.TryParse(value.Text, out long parsed, out var used) && used == value.Text.Length:
                number = parsed;
                break;
            default:
                return $"attribute '{Text(key)}' must be an integer";
        }
        if (number is < 100 or > 599)
        {
            return $"attribute '{Text(key)}' must be an HTTP status code from 100 to 599";
        }
        status = (int)number;
        return null;
    }

    private static bool IsDigits(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (var b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A span's status code (field 3 of Status), 0 (unset) when absent.</summary>
    private static ulong ReadStatusCode(ReadOnlySpan<byte> status)
    {
        ulong code = 0;
        var wire = new Wire(status);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field == 3 && type == Varint)
            {
                code = wire.Varint();
            }
            else
            {
                wire.Skip(type);
            }
        }
        return code;
    }

    private static void ReadKeyValue(ReadOnlySpan<byte> keyValue, out ReadOnlySpan<byte> key, out AnyValueView value)
    {
        key = default;
        value = default;
        var wire = new Wire(keyValue);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            if (field == 1 && type == Length)
            {
                key = wire.Bytes();
            }
            else if (field == 2 && type == Length)
            {
                value = ReadAnyValue(wire.Bytes());
            }
            else
            {
                wire.Skip(type);
            }
        }
    }

    /// <summary>The one value an AnyValue holds (the last of its oneof fields on the wire); present but of no known kind: Other.</summary>
    private static AnyValueView ReadAnyValue(ReadOnlySpan<byte> anyValue)
    {
        var value = new AnyValueView { Kind = AnyKind.Other };
        var wire = new Wire(anyValue);
        while (wire.More)
        {
            var (field, type) = wire.Tag();
            switch (field)
            {
                case 1 when type == Length:
                    value = new AnyValueView { Kind = AnyKind.String, Text = wire.Bytes() };
                    break;
                case 3 when type == Varint:
                    value = new AnyValueView { Kind = AnyKind.Int, Integer = (long)wire.Varint() };
                    break;
                default:
                    wire.Skip(type);
                    if (field is >= 2 and <= 7)
                    {
                        value = new AnyValueView { Kind = AnyKind.Other };
                    }
                    break;
            }
        }
        return value;
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

    private static string Text(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? "" : Encoding.UTF8.GetString(utf8);

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySpan<byte> bytes) where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new OtlpFormatException("a refused span cannot be kept as sent: " + ex.Message);
        }
    }

    /// <summary>A resource's customer for its spans, or why it cannot be one (both null: the resource names none).</summary>
    private readonly record struct ResourceCustomer(string? Customer, string? Problem);

    private enum AnyKind
    {
        None,
        String,
        Int,
        Other,
    }

    /// <summary>An attribute value as far as the rules read it: its kind, and its text or integer.</summary>
    private ref struct AnyValueView
    {
        public AnyKind Kind;
        public ReadOnlySpan<byte> Text;
        public long Integer;
    }

    /// <summary>Protobuf's wire format over a span of bytes: tags, varints, fixed64 and length-delimited fields.</summary>
    private ref struct Wire(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool More => _position < _data.Length;

        public (int Field, int Type) Tag()
        {
            var tag = Varint();
            var field = tag >> 3;
            if (field is 0 or > int.MaxValue)
            {
                throw new OtlpFormatException(string.Create(CultureInfo.InvariantCulture, $"invalid field number {field} at byte {_position}"));
            }
            return ((int)field, (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    throw Truncated();
                }
                var b = _data[_position++];
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }
            throw new OtlpFormatException(string.Create(CultureInfo.InvariantCulture, $"a varint longer than 10 bytes at byte {_position}"));
        }

        public ulong Fixed64()
        {
            if (_data.Length - _position < 8)
            {
                throw Truncated();
            }
            var value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
            _position += 8;
            return value;
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length > (ulong)(_data.Length - _position))
            {
                throw Truncated();
            }
            var bytes = _data.Slice(_position, (int)length);
            _position += (int)length;
            return bytes;
        }

        public void Skip(int type)
        {
            switch (type)
            {
                case OtlpSpanDecoder.Varint:
                    Varint();
                    break;
                case OtlpSpanDecoder.Fixed64:
                    Advance(8);
                    break;
                case Length:
                    Bytes();
                    break;
                case Fixed32:
                    Advance(4);
                    break;
                default:
                    // Groups (3, 4) are not used by OTLP; 6 and 7 do not exist.
                    throw new OtlpFormatException(string.Create(CultureInfo.InvariantCulture, $"wire type {type} at byte {_position}"));
            }
        }

        private void Advance(int count)
        {
            if (_data.Length - _position < count)
            {
                throw Truncated();
            }
            _position += count;
        }

        private readonly OtlpFormatException Truncated() =>
            new(string.Create(CultureInfo.InvariantCulture, $"truncated at byte {_position} of {_data.Length}"));
    }
}
