using System.Text.Json;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

/// <summary>
/// The pipeline's side of `maestrosla status`: every /health component (ingest, projections, backups, ...) with its
/// status and description, so a number that stopped moving comes with the reason, e.g. a paused projection.
/// </summary>
internal static class PipelineHealth
{
    public static async Task PrintAsync(IAnsiConsole console, ApiClient api, CancellationToken ct)
    {
        JsonDocument health;
        try
        {
            health = JsonDocument.Parse(await api.GetProbeAsync("health", ct));
        }
        catch (Exception ex) when (ex is ApiException or JsonException)
        {
            // The SLA figures above stand on their own; the pipeline's state is extra.
            console.MarkupLineInterpolated($"[grey]Pipeline health not available: {ex.Message}[/]");
            return;
        }
        using (health)
        {
            var root = health.RootElement;
            var overall = root.GetProperty("status").GetString() ?? "Unknown";
            var table = new Table().Border(TableBorder.Rounded).Title($"Pipeline: {overall}");
            table.AddColumn("component");
            table.AddColumn("status");
            table.AddColumn("description");
            foreach (var component in root.GetProperty("components").EnumerateArray())
            {
                var name = component.GetProperty("name").GetString() ?? "";
                if (name == "self")
                {
                    continue;
                }
                var status = component.GetProperty("status").GetString() ?? "Unknown";
                var description = component.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() ?? "" : "";
                table.AddRow(new Text(name), new Markup($"[{Color(status)}]{Markup.Escape(status)}[/]"), new Text(description));
            }
            console.Write(table);
        }
    }

    private static string Color(string status) => status switch
    {
        "Healthy" => "green",
        "Degraded" => "yellow",
        _ => "red",
    };
}
