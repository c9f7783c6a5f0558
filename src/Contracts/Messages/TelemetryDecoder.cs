using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MaestroSla.Contracts.Messages;

/// <summary>
/// Decodes one version-1 wire message (a UTF-8 JSON object) and validates it against <see cref="ContractLimits"/>.
/// Bad input never throws: it yields a rejected <see cref="DecodedMessage"/> whose reason can go back to the
/// producer or into a dead-letter record.
/// </summary>
/// <remarks>
/// Not thread-safe: it keeps a name cache and a scratch buffer so that the ingest hot path allocates no string
/// for names it has seen before. Give each consuming thread its own decoder.
/// </remarks>
public sealed class TelemetryDecoder
{
    public const int SupportedVersion = 1;
    public const int MaxReasonLength = 1000;

    // The latency histograms elsewhere are sized for at most one hour.
    private static readonly TimeSpan LatencyCeiling = TimeSpan.FromHours(1);

    // Names become parts of read-model keys and size the scratch buffer; a larger limit is a configuration slip.
    private const int NameLengthCeiling = 4096;

    // JSON escapes spell one UTF-16 char in at most 6 bytes (\uXXXX), and plain UTF-8 needs fewer,
    // so a value longer than this many bytes per allowed char is too long without decoding it.
    private const int MaxBytesPerChar = 6;

    // System.Text.Json parses no ISO-8601 text longer than 42 bytes, or 6 times that when escaped.
    private const int MaxEscapedTimestampLength = 42 * MaxBytesPerChar;

    private const int MaxEchoedLength = 64;

    private const string ValidHealthStates = "healthy, degraded or unhealthy";

    private static readonly string ReasonTooLong = string.Create(
        CultureInfo.InvariantCulture,
        $"field 'reason' must be at most {MaxReasonLength} characters");

    private readonly TimeProvider _time;
    private readonly TimeSpan _maxAge;
    private readonly TimeSpan _maxFutureSkew;
    private readonly double _maxLatencyMs;
    private readonly int _maxNameLength;
    private readonly string _latencyAboveLimit;
    private readonly char[] _nameScratch;
    private readonly NameCache _names = new();

    public TelemetryDecoder(ContractLimits limits, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(time);
        EnsureSensible(limits);

        // Copied, so that a later change to the bound options object cannot bypass the checks above.
        _time = time;
        _maxAge = limits.MaxAge;
        _maxFutureSkew = limits.MaxFutureSkew;
        _maxLatencyMs = limits.MaxLatency.TotalMilliseconds;
        _maxNameLength = limits.MaxNameLength;
        _latencyAboveLimit = string.Create(
            CultureInfo.InvariantCulture,
            $"field 'latencyMs' exceeds the maximum latency of {_maxLatencyMs} ms (Contract:MaxLatency {limits.MaxLatency})");
        _nameScratch = new char[_maxNameLength * MaxBytesPerChar];
    }

    [Flags]
    private enum WireFields
    {
        None = 0,
        Version = 1 << 0,
        Type = 1 << 1,
        Service = 1 << 2,
        Endpoint = 1 << 3,
        Component = 1 << 4,
        LatencyMs = 1 << 5,
        Status = 1 << 6,
        ErrorFlag = 1 << 7,
        Timestamp = 1 << 8,
        Start = 1 << 9,
        End = 1 << 10,
        Reason = 1 << 11,
        Customer = 1 << 12,
    }

    public DecodedMessage Decode(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.IndexOfAnyExcept(" \t\r\n"u8) < 0)
        {
            return DecodedMessage.Rejected("empty payload");
        }

        try
        {
            string? envelopeError = ReadEnvelope(utf8Json, out MessageKind kind);
            return envelopeError is null ? ReadBody(utf8Json, kind) : DecodedMessage.Rejected(envelopeError);
        }
        catch (JsonException ex)
        {
            return DecodedMessage.Rejected("malformed JSON: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader reports invalid UTF-8 inside a string only when the string is transcoded.
            return DecodedMessage.Rejected("malformed JSON: " + ex.Message);
        }
    }

    private static void EnsureSensible(ContractLimits limits)
    {
        if (limits.MaxLatency <= TimeSpan.Zero || limits.MaxLatency > LatencyCeiling)
        {
            throw new ArgumentOutOfRangeException(
                nameof(limits),
                limits.MaxLatency,
                $"Contract:MaxLatency must be greater than zero and at most {LatencyCeiling}, the range of the latency histograms.");
        }

        if (limits.MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(limits),
                limits.MaxAge,
                "Contract:MaxAge must be greater than zero, or every timestamp would be rejected as too old.");
        }

        if (limits.MaxFutureSkew < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(limits),
                limits.MaxFutureSkew,
                "Contract:MaxFutureSkew must not be negative, or messages stamped now would be rejected.");
        }

        if (limits.MaxNameLength <= 0 || limits.MaxNameLength > NameLengthCeiling)
        {
            throw new ArgumentOutOfRangeException(
                nameof(limits),
                limits.MaxNameLength,
                $"Contract:MaxNameLength must be between 1 and {NameLengthCeiling}.");
        }
    }

    /// <summary>
    /// First pass: only "v" and "type", which may sit anywhere in the object. The version is judged before
    /// anything else because a later version may change what every other field means.
    /// </summary>
    private static string? ReadEnvelope(ReadOnlySpan<byte> utf8Json, out MessageKind kind)
    {
        kind = default;
        var reader = new Utf8JsonReader(utf8Json);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return "message must be a JSON object";
        }

        bool versionSeen = false;
        bool typeSeen = false;
        string? typeError = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!versionSeen && reader.ValueTextEquals("v"u8))
            {
                versionSeen = true;
                reader.Read();
                string? versionError = CheckVersion(ref reader);
                if (versionError is not null)
                {
                    return versionError;
                }
            }
            else if (!typeSeen && reader.ValueTextEquals("type"u8))
            {
                typeSeen = true;
                reader.Read();
                typeError = ReadKind(ref reader, out kind);
                reader.Skip();
            }
            else
            {
                reader.Skip();
            }

            if (versionSeen && typeSeen)
            {
                break;
            }
        }

        if (!versionSeen)
        {
            return MissingField("v");
        }

        return typeSeen ? typeError : MissingField("type");
    }

    private static string? CheckVersion(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return MissingField("v");
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return MustBe("v", "a number");
        }

        return reader.TryGetInt32(out int version) && version == SupportedVersion
            ? null
            : "unsupported contract version " + Echo(reader.ValueSpan);
    }

    private static string? ReadKind(ref Utf8JsonReader reader, out MessageKind kind)
    {
        kind = default;
        if (reader.TokenType == JsonTokenType.Null)
        {
            return MissingField("type");
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return MustBe("type", "a string");
        }

        if (reader.ValueTextEquals("request"u8))
        {
            kind = MessageKind.Request;
        }
        else if (reader.ValueTextEquals("downtime"u8))
        {
            kind = MessageKind.Downtime;
        }
        else if (reader.ValueTextEquals("health"u8))
        {
            kind = MessageKind.Health;
        }
        else
        {
            return $"unknown message type '{Echo(reader.GetString()!)}'";
        }

        return null;
    }

    /// <summary>
    /// Second pass, knowing the kind: reads the fields of that kind, ignores all others, and stops at the
    /// first problem. JSON null counts as an absent field, as producers that serialise nulls intend.
    /// </summary>
    private DecodedMessage ReadBody(ReadOnlySpan<byte> utf8Json, MessageKind kind)
    {
        DateTimeOffset now = _time.GetUtcNow();
        var window = new AcceptedWindow(now - _maxAge, now + _maxFutureSkew);

        string? service = null;
        string? endpoint = null;
        string? component = null;
        string? reason = null;
        string? customer = null;
        double? latencyMs = null;
        int? statusCode = null;
        bool? errorFlag = null;
        HealthState? healthState = null;
        DateTimeOffset? timestamp = null;
        DateTimeOffset? start = null;
        DateTimeOffset? end = null;

        var reader = new Utf8JsonReader(utf8Json);
        reader.Read();
        WireFields seen = WireFields.None;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            WireFields field = Identify(ref reader, kind);
            if (field == WireFields.None)
            {
                reader.Skip();
                continue;
            }

            if ((seen & field) != 0)
            {
                // Two values for one field would let different consumers of the same topic disagree.
                return DecodedMessage.Rejected($"duplicate field '{NameOf(field)}'");
            }

            seen |= field;
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            string? error = null;
            switch (field)
            {
                case WireFields.Version:
                case WireFields.Type:
                    // Already judged by the first pass, which read this very occurrence.
                    break;
                case WireFields.Service:
                    error = ReadName(ref reader, "service", out service);
                    break;
                case WireFields.Endpoint:
                    error = ReadName(ref reader, "endpoint", out endpoint);
                    break;
                case WireFields.Component:
                    error = ReadName(ref reader, "component", out component);
                    break;
                case WireFields.Customer:
                    error = ReadName(ref reader, "customer", out customer);
                    break;
                case WireFields.LatencyMs:
                    error = ReadLatency(ref reader, out latencyMs);
                    break;
                case WireFields.Status when kind == MessageKind.Request:
                    error = ReadStatusCode(ref reader, out statusCode);
                    break;
                case WireFields.Status:
                    error = ReadHealthState(ref reader, out healthState);
                    break;
                case WireFields.ErrorFlag:
                    error = ReadErrorFlag(ref reader, out errorFlag);
                    break;
                case WireFields.Timestamp:
                    error = ReadTimestamp(ref reader, "ts", window, out timestamp);
                    break;
                case WireFields.Start:
                    error = ReadTimestamp(ref reader, "start", window, out start);
                    break;
                case WireFields.End:
                    error = ReadTimestamp(ref reader, "end", window, out end);
                    break;
                case WireFields.Reason:
                    error = ReadReason(ref reader, out reason);
                    break;
            }

            if (error is not null)
            {
                return DecodedMessage.Rejected(error);
            }
        }

        // The reader has just closed the top-level object; reading on surfaces any trailing garbage.
        if (reader.Read())
        {
            return DecodedMessage.Rejected("malformed JSON: content after the message object");
        }

        return kind switch
        {
            MessageKind.Request => BuildRequest(service, endpoint, latencyMs, statusCode, errorFlag, timestamp, customer),
            MessageKind.Downtime => BuildDowntime(service, start, end, reason),
            _ => BuildHealth(service, component, healthState, latencyMs, timestamp),
        };
    }

    private static WireFields Identify(ref Utf8JsonReader reader, MessageKind kind)
    {
        if (reader.ValueTextEquals("v"u8))
        {
            return WireFields.Version;
        }

        if (reader.ValueTextEquals("type"u8))
        {
            return WireFields.Type;
        }

        if (reader.ValueTextEquals("service"u8))
        {
            return WireFields.Service;
        }

        if (kind == MessageKind.Downtime)
        {
            return reader.ValueTextEquals("start"u8) ? WireFields.Start
                : reader.ValueTextEquals("end"u8) ? WireFields.End
                : reader.ValueTextEquals("reason"u8) ? WireFields.Reason
                : WireFields.None;
        }

        if (reader.ValueTextEquals("latencyMs"u8))
        {
            return WireFields.LatencyMs;
        }

        if (reader.ValueTextEquals("status"u8))
        {
            return WireFields.Status;
        }

        if (reader.ValueTextEquals("ts"u8))
        {
            return WireFields.Timestamp;
        }

        if (kind == MessageKind.Request)
        {
            // The optional customer last: a message without one pays nothing for it.
            return reader.ValueTextEquals("endpoint"u8) ? WireFields.Endpoint
                : reader.ValueTextEquals("error"u8) ? WireFields.ErrorFlag
                : reader.ValueTextEquals("customer"u8) ? WireFields.Customer
                : WireFields.None;
        }

        return reader.ValueTextEquals("component"u8) ? WireFields.Component : WireFields.None;
    }

    private static string NameOf(WireFields field) => field switch
    {
        WireFields.Version => "v",
        WireFields.Type => "type",
        WireFields.Service => "service",
        WireFields.Endpoint => "endpoint",
        WireFields.Component => "component",
        WireFields.LatencyMs => "latencyMs",
        WireFields.Status => "status",
        WireFields.ErrorFlag => "error",
        WireFields.Timestamp => "ts",
        WireFields.Start => "start",
        WireFields.End => "end",
        WireFields.Reason => "reason",
        WireFields.Customer => "customer",
        _ => field.ToString(),
    };

    private static DecodedMessage BuildRequest(
        string? service,
        string? endpoint,
        double? latencyMs,
        int? statusCode,
        bool? errorFlag,
        DateTimeOffset? timestamp,
        string? customer)
    {
        if (service is null)
        {
            return Missing("service");
        }

        if (endpoint is null)
        {
            return Missing("endpoint");
        }

        if (latencyMs is not { } latency)
        {
            return Missing("latencyMs");
        }

        if (statusCode is null && errorFlag is null)
        {
            return DecodedMessage.Rejected("missing field 'status' or 'error' (at least one is required)");
        }

        if (timestamp is not { } ts)
        {
            return Missing("ts");
        }

        bool isError = errorFlag ?? statusCode >= 500;
        long latencyMicros = (long)Math.Round(latency * 1000);
        return DecodedMessage.FromRequest(new RequestMetric(service, endpoint, latencyMicros, statusCode, isError, ts, customer));
    }

    private static DecodedMessage BuildDowntime(
        string? service,
        DateTimeOffset? start,
        DateTimeOffset? end,
        string? reason)
    {
        if (service is null)
        {
            return Missing("service");
        }

        if (start is not { } from)
        {
            return Missing("start");
        }

        if (end is not { } to)
        {
            return Missing("end");
        }

        if (to <= from)
        {
            return DecodedMessage.Rejected("field 'end' must be after 'start'");
        }

        return DecodedMessage.FromDowntime(new DowntimeInterval(service, from, to, reason ?? string.Empty));
    }

    private static DecodedMessage BuildHealth(
        string? service,
        string? component,
        HealthState? healthState,
        double? latencyMs,
        DateTimeOffset? timestamp)
    {
        if (service is null)
        {
            return Missing("service");
        }

        if (component is null)
        {
            return Missing("component");
        }

        if (healthState is not { } state)
        {
            return Missing("status");
        }

        if (latencyMs is not { } latency)
        {
            return Missing("latencyMs");
        }

        if (timestamp is not { } ts)
        {
            return Missing("ts");
        }

        return DecodedMessage.FromHealth(new HealthResult(service, component, state, latency, ts));
    }

    private string? ReadName(ref Utf8JsonReader reader, string field, out string? name)
    {
        name = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return MustBe(field, "a string");
        }

        if (reader.ValueSpan.Length > _nameScratch.Length)
        {
            return NameTooLong(field);
        }

        int length = reader.CopyString(_nameScratch);
        ReadOnlySpan<char> chars = _nameScratch.AsSpan(0, length);
        if (_names.TryGet(chars, out name))
        {
            return null;
        }

        string? problem = CheckName(chars, field);
        if (problem is not null)
        {
            return problem;
        }

        name = _names.Add(chars);
        return null;
    }

    private string? CheckName(ReadOnlySpan<char> chars, string field)
    {
        if (chars.IsEmpty)
        {
            return $"field '{field}' must not be empty";
        }

        if (chars.Length > _maxNameLength)
        {
            return NameTooLong(field);
        }

        foreach (char c in chars)
        {
            if (c == '|')
            {
                return $"field '{field}' must not contain '|', which separates the parts of read-model keys";
            }

            if (char.IsControl(c))
            {
                return $"field '{field}' must not contain control characters";
            }
        }

        return null;
    }

    private string NameTooLong(string field) => string.Create(
        CultureInfo.InvariantCulture,
        $"field '{field}' must be at most {_maxNameLength} characters (Contract:MaxNameLength)");

    private string? ReadLatency(ref Utf8JsonReader reader, out double? latencyMs)
    {
        latencyMs = null;
        if (reader.TokenType != JsonTokenType.Number)
        {
            return MustBe("latencyMs", "a number");
        }

        // JSON has no NaN or Infinity literal, but 1e400 parses to infinity.
        if (!reader.TryGetDouble(out double value) || !double.IsFinite(value))
        {
            return MustBe("latencyMs", "a finite number");
        }

        if (value < 0)
        {
            return "field 'latencyMs' must not be negative";
        }

        if (value > _maxLatencyMs)
        {
            return _latencyAboveLimit;
        }

        // -0 passes the checks above and would be reported as "-0".
        latencyMs = value == 0 ? 0 : value;
        return null;
    }

    private static string? ReadStatusCode(ref Utf8JsonReader reader, out int? statusCode)
    {
        statusCode = null;
        if (reader.TokenType != JsonTokenType.Number)
        {
            return MustBe("status", "a number");
        }

        if (!reader.TryGetInt32(out int code) || code < 100 || code > 599)
        {
            return "field 'status' must be an HTTP status code from 100 to 599";
        }

        statusCode = code;
        return null;
    }

    private static string? ReadHealthState(ref Utf8JsonReader reader, out HealthState? state)
    {
        state = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return MustBe("status", "a string");
        }

        if (reader.ValueTextEquals("healthy"u8))
        {
            state = HealthState.Healthy;
        }
        else if (reader.ValueTextEquals("degraded"u8))
        {
            state = HealthState.Degraded;
        }
        else if (reader.ValueTextEquals("unhealthy"u8))
        {
            state = HealthState.Unhealthy;
        }
        else
        {
            return $"field 'status' must be {ValidHealthStates}, not '{Echo(reader.GetString()!)}'";
        }

        return null;
    }

    private static string? ReadErrorFlag(ref Utf8JsonReader reader, out bool? errorFlag)
    {
        errorFlag = reader.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            _ => null,
        };
        return errorFlag is null ? MustBe("error", "a boolean") : null;
    }

    private static string? ReadReason(ref Utf8JsonReader reader, out string? reason)
    {
        reason = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return MustBe("reason", "a string");
        }

        if (reader.ValueSpan.Length > MaxReasonLength * MaxBytesPerChar)
        {
            return ReasonTooLong;
        }

        string text = reader.GetString()!;
        if (text.Length > MaxReasonLength)
        {
            return ReasonTooLong;
        }

        reason = text;
        return null;
    }

    private string? ReadTimestamp(
        ref Utf8JsonReader reader,
        string field,
        AcceptedWindow window,
        out DateTimeOffset? timestamp)
    {
        timestamp = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return MustBe(field, "a string");
        }

        if (!reader.TryGetDateTimeOffset(out DateTimeOffset parsed))
        {
            return $"field '{field}' must be an ISO-8601 timestamp with an offset, such as 2026-11-01T00:00:00Z";
        }

        // TryGetDateTimeOffset reads offset-less text as local time, which depends on the host's time zone.
        if (!HasExplicitOffset(ref reader))
        {
            return $"field '{field}' must carry a UTC offset (Z or ±hh:mm)";
        }

        DateTimeOffset utc = parsed.ToUniversalTime();
        if (utc < window.Earliest)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"field '{field}' is older than the accepted window of {_maxAge} (Contract:MaxAge)");
        }

        if (utc > window.Latest)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"field '{field}' is more than {_maxFutureSkew} ahead of this host's clock (Contract:MaxFutureSkew)");
        }

        timestamp = utc;
        return null;
    }

    private static bool HasExplicitOffset(ref Utf8JsonReader reader)
    {
        scoped ReadOnlySpan<byte> text = reader.ValueSpan;
        Span<byte> unescaped = reader.ValueIsEscaped ? stackalloc byte[MaxEscapedTimestampLength] : default;
        if (reader.ValueIsEscaped)
        {
            if (text.Length > MaxEscapedTimestampLength)
            {
                return false;
            }

            text = unescaped[..reader.CopyString(unescaped)];
        }

        // The date part (yyyy-MM-dd) holds hyphens of its own; an offset can only follow it.
        const int DateLength = 10;
        return text.Length > DateLength && text[DateLength..].IndexOfAny("Zz+-"u8) >= 0;
    }

    private static DecodedMessage Missing(string field) => DecodedMessage.Rejected(MissingField(field));

    private static string MissingField(string field) => $"missing field '{field}'";

    private static string MustBe(string field, string what) => $"field '{field}' must be {what}";

    // Reasons end up in logs and HTTP responses; a producer's garbage must not make them huge.
    private static string Echo(string text) =>
        text.Length <= MaxEchoedLength ? text : string.Concat(text.AsSpan(0, MaxEchoedLength), "…");

    private static string Echo(ReadOnlySpan<byte> utf8) =>
        Echo(Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, MaxEchoedLength + 1)]));

    private readonly record struct AcceptedWindow(DateTimeOffset Earliest, DateTimeOffset Latest);
}
