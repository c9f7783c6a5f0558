using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MaestroSla.Contracts.Messages;

/// <summary>
/// Writes version-1 wire messages, the inverse of <see cref="TelemetryDecoder"/>: what the demo, the tests and the
/// benchmarks publish. Names go through <see cref="Utf8JsonWriter"/>, so quotes, backslashes and control characters
/// in them are escaped rather than breaking the message.
/// </summary>
public static class TelemetryWriter
{
    /// <summary>Characters of a timestamp written at millisecond precision (yyyy-MM-ddTHH:mm:ss.fffZ).</summary>
    public const int MillisecondTimestampLength = 24;

    // Only what JSON itself requires is escaped: names such as "GET /items/{id}" or "Zürich" stay readable.
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? _writer;

    public static byte[] Request(
        string service, string endpoint, double latencyMs, int? status, DateTimeOffset timestamp, bool? error = null, string? customer = null)
    {
        var json = Head("request", service);
        json.WriteString("endpoint"u8, endpoint);
        json.WriteNumber("latencyMs"u8, latencyMs);
        if (status is { } code)
        {
            json.WriteNumber("status"u8, code);
        }
        if (error is { } failed)
        {
            json.WriteBoolean("error"u8, failed);
        }
        if (customer is not null)
        {
            json.WriteString("customer"u8, customer);
        }
        // Last, so that a template's timestamp sits at a known place before the closing brace.
        Time(json, "ts"u8, timestamp);
        return End(json);
    }

    public static byte[] Downtime(string service, DateTimeOffset start, DateTimeOffset end, string? reason = null)
    {
        var json = Head("downtime", service);
        Time(json, "start"u8, start);
        Time(json, "end"u8, end);
        if (reason is not null)
        {
            json.WriteString("reason"u8, reason);
        }
        return End(json);
    }

    /// <param name="status">healthy, degraded or unhealthy (any other value is written as given, to test refusals).</param>
    public static byte[] Health(string service, string component, string status, double latencyMs, DateTimeOffset timestamp)
    {
        var json = Head("health", service);
        json.WriteString("component"u8, component);
        json.WriteString("status"u8, status);
        json.WriteNumber("latencyMs"u8, latencyMs);
        Time(json, "ts"u8, timestamp);
        return End(json);
    }

    public static byte[] Health(string service, string component, HealthState status, double latencyMs, DateTimeOffset timestamp) =>
        Health(service, component, status switch
        {
            HealthState.Healthy => "healthy",
            HealthState.Degraded => "degraded",
            _ => "unhealthy",
        }, latencyMs, timestamp);

    private static Utf8JsonWriter Head(string type, string service)
    {
        // One buffer and writer per thread, reused: the demo writes millions of messages.
        var buffer = _buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        var json = _writer ??= new Utf8JsonWriter(buffer, Options);
        json.Reset(buffer);
        json.WriteStartObject();
        json.WriteNumber("v"u8, 1);
        json.WriteString("type"u8, type);
        json.WriteString("service"u8, service);
        return json;
    }

    private static byte[] End(Utf8JsonWriter json)
    {
        json.WriteEndObject();
        json.Flush();
        return _buffer!.WrittenSpan.ToArray();
    }

    /// <summary>
    /// UTC with a Z, at millisecond precision unless the time has finer parts (then all seven digits), so the time
    /// read back is the time written.
    /// </summary>
    private static void Time(Utf8JsonWriter json, ReadOnlySpan<byte> name, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var format = utc.Ticks % TimeSpan.TicksPerMillisecond == 0 ? "yyyy-MM-ddTHH:mm:ss.fffZ" : "yyyy-MM-ddTHH:mm:ss.fffffffZ";
        Span<byte> text = stackalloc byte[32];
        if (!utc.TryFormat(text, out var written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("A timestamp did not fit its buffer");
        }
        json.WriteString(name, text[..written]);
    }
}
