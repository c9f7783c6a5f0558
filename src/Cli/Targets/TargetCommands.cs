using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MaestroSla.Contracts.Targets;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

internal static class TargetCommands
{
    public static Command Targets(CliContext context)
    {
        var command = new Command("targets", "A service's SLA targets");
        command.Subcommands.Add(Get(context));
        command.Subcommands.Add(Set(context));
        return command;
    }

    private static Command Get(CliContext context)
    {
        var service = new Argument<string>("service") { Description = "Service name" };
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJson);
        var command = new Command("get", "The targets in force for a service") { service, format };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var body = await api.GetTextAsync(PathFor(parse.GetValue(service)!), ct);
            if (parse.GetValue(format) == "json")
            {
                context.WriteRaw(ReportCommands.Indent(body));
            }
            else
            {
                Print(context.Console, parse.GetValue(service)!, JsonSerializer.Deserialize<EffectiveTargets>(body, ApiClient.Json)!);
            }
            return 0;
        }));
        return command;
    }

    private static Command Set(CliContext context)
    {
        var service = new Argument<string>("service") { Description = "Service name" };
        var uptime = new Option<double?>("--uptime") { Description = "Uptime %, at least (e.g. 99.9)" };
        var availability = new Option<double?>("--availability") { Description = "Availability % (good / all requests), at least (e.g. 99.95)" };
        var p95 = new Option<double?>("--p95") { Description = "P95 latency ms, below (e.g. 200)" };
        var p99 = new Option<double?>("--p99") { Description = "P99 latency ms, below (e.g. 500)" };
        var errorRate = new Option<double?>("--error-rate") { Description = "Error rate %, below (e.g. 0.1)" };
        var command = new Command("set", "Sets targets from now on; those not given keep their current value. Earlier reports keep the targets they were made with.")
        {
            service, uptime, availability, p95, p99, errorRate,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(uptime) is null && result.GetValue(availability) is null && result.GetValue(p95) is null
                && result.GetValue(p99) is null && result.GetValue(errorRate) is null)
            {
                result.AddError("Give at least one of --uptime, --availability, --p95, --p99, --error-rate");
            }
        });
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var name = parse.GetValue(service)!;
            var current = (await api.GetAsync<EffectiveTargets>(PathFor(name), ct)).Targets;
            var wanted = new SlaTargets
            {
                UptimePercent = parse.GetValue(uptime) ?? current.UptimePercent,
                AvailabilityPercent = parse.GetValue(availability) ?? current.AvailabilityPercent,
                P95Ms = parse.GetValue(p95) ?? current.P95Ms,
                P99Ms = parse.GetValue(p99) ?? current.P99Ms,
                ErrorRatePercent = parse.GetValue(errorRate) ?? current.ErrorRatePercent,
            };
            var (body, _, _) = await api.SendJsonAsync(HttpMethod.Put, PathFor(name), wanted, ct);
            Print(context.Console, name, JsonSerializer.Deserialize<EffectiveTargets>(body, ApiClient.Json)!);
            return 0;
        }));
        return command;
    }

    private static string PathFor(string service) => $"api/services/{Uri.EscapeDataString(service)}/targets";

    private static void Print(IAnsiConsole console, string service, EffectiveTargets effective)
    {
        var t = effective.Targets;
        var table = new Table().Border(TableBorder.Rounded).Title($"{Markup.Escape(service)} targets");
        table.AddColumn("metric");
        table.AddColumn(new TableColumn("target").RightAligned());
        table.AddRow("uptime", $"≥ {N(t.UptimePercent)} %");
        table.AddRow("availability", $"≥ {N(t.AvailabilityPercent)} %");
        table.AddRow("latency_p95", $"< {N(t.P95Ms)} ms");
        table.AddRow("latency_p99", $"< {N(t.P99Ms)} ms");
        table.AddRow("error_rate", $"< {N(t.ErrorRatePercent)} %");
        console.Write(table);
        console.MarkupLineInterpolated($"[grey]source: {effective.Source}[/]");
    }

    private static string N(double value) => value.ToString("0.######", CultureInfo.InvariantCulture);
}
