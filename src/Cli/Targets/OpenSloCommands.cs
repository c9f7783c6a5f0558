using System.CommandLine;
using System.Text.Json;
using MaestroSla.Contracts.Targets;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

internal static class OpenSloCommands
{
    public static Command Export(CliContext context)
    {
        var service = new Option<string?>("--service") { Description = "One service (default: every service)" };
        var output = new Option<FileInfo?>("--output", "-o") { Description = "Write to this file instead of the terminal" };
        var openSlo = new Command("openslo", "Service objectives as OpenSLO v1 YAML (one Service and five SLO documents per service)") { service, output };
        openSlo.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var name = parse.GetValue(service);
            var yaml = await api.GetTextAsync("api/exports/openslo" + (name is null ? "" : $"?service={Uri.EscapeDataString(name)}"), ct);
            if (parse.GetValue(output) is { } file)
            {
                await File.WriteAllTextAsync(file.FullName, yaml, ct);
                context.Console.MarkupLineInterpolated($"wrote {file.FullName}");
            }
            else
            {
                context.WriteRaw(yaml);
            }
            return 0;
        }));

        var command = new Command("export", "Export data in a standard format: OpenSLO targets, report summaries and downtime as CSV");
        command.Subcommands.Add(openSlo);
        command.Subcommands.Add(ReportCommands.ExportCsv(context));
        return command;
    }

    public static Command Import(CliContext context)
    {
        var file = new Argument<FileInfo>("file") { Description = "OpenSLO v1 YAML, e.g. as written by `export openslo`" };
        var openSlo = new Command("openslo", "Sets the targets of every service in the file (all or nothing)") { file };
        openSlo.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var yaml = await File.ReadAllTextAsync(parse.GetValue(file)!.FullName, ct);
            var (body, _, _) = await api.SendTextAsync(HttpMethod.Post, "api/imports/openslo", yaml, "application/yaml", ct);
            var imported = JsonSerializer.Deserialize<List<ImportedTargets>>(body, ApiClient.Json)!;
            var table = new Table().Border(TableBorder.Rounded).Title("imported targets");
            table.AddColumn("service");
            foreach (var column in Columns)
            {
                table.AddColumn(new TableColumn(column).RightAligned());
            }
            foreach (var (service, t) in imported)
            {
                table.AddRow(Markup.Escape(service), N(t.UptimePercent), N(t.AvailabilityPercent), N(t.P95Ms), N(t.P99Ms), N(t.ErrorRatePercent));
            }
            context.Console.Write(table);
            return 0;
        }));

        var command = new Command("import", "Import data in a standard format");
        command.Subcommands.Add(openSlo);
        return command;
    }

    private static readonly string[] Columns = ["uptime %", "availability %", "P95 ms", "P99 ms", "error rate %"];

    private static string N(double value) => value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
}
