using System.Net;
using System.Text.Json;

namespace MaestroSla.Tests.Operations;

/// <summary>A probe's answer: its status code and the JSON body's overall and per-component statuses.</summary>
public sealed record HealthReply(HttpStatusCode Code, string Status, IReadOnlyDictionary<string, HealthComponent> Components, string Body)
{
    public static async Task<HealthReply> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        var components = new Dictionary<string, HealthComponent>();
        foreach (var component in root.GetProperty("components").EnumerateArray())
        {
            var name = component.GetProperty("name").GetString()!;
            components[name] = new HealthComponent(
                component.GetProperty("status").GetString()!,
                component.GetProperty("description").GetString(),
                component.GetProperty("latencyMs").GetDouble());
        }
        return new HealthReply(response.StatusCode, root.GetProperty("status").GetString()!, components, body);
    }

    /// <summary>Asks until the answer satisfies <paramref name="until"/>; returns the last answer either way.</summary>
    public static async Task<HealthReply> WaitAsync(HttpClient client, string path, Func<HealthReply, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var reply = await GetAsync(client, path);
            if (until(reply) || DateTime.UtcNow > deadline)
            {
                return reply;
            }
            await Task.Delay(200);
        }
    }
}

public sealed record HealthComponent(string Status, string? Description, double LatencyMs);
