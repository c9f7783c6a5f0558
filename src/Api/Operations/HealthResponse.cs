using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MaestroSla.Api.Operations;

/// <summary>
/// The JSON body of /healthz, /ready and /health: the overall status and, per component, its status, description
/// and how long its check took. The status code stays the framework's: 200 healthy or degraded, 503 unhealthy.
/// </summary>
public static class HealthResponse
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        // A probe answer is about now: a cache must not serve it later.
        context.Response.Headers.CacheControl = "no-store";
        // Built in memory and sent in one asynchronous write: the serializer flushes synchronously, which Kestrel refuses.
        var buffer = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            // Served as application/json, never into HTML: "+" in a server version can stay "+".
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("latencyMs", Milliseconds(report.TotalDuration));
        json.WriteStartArray("components");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description ?? entry.Exception?.Message);
            json.WriteNumber("latencyMs", Milliseconds(entry.Duration));
            if (entry.Data.Count > 0)
            {
                json.WritePropertyName("data");
                JsonSerializer.Serialize(json, entry.Data);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static double Milliseconds(TimeSpan duration) => Math.Round(duration.TotalMilliseconds, 1);
}
