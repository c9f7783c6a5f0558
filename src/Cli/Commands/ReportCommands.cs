using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

internal static class ReportCommands
{
    public static Command Report(CliContext context)
    {
        var service = new Argument<string>("service") { Description = "Service name" };
        var month = new Option<string?>("--month") { Description = "Calendar month, e.g. 2026-10 (default: the current month)" };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Range start, ISO-8601 with offset (with --to)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Range end, ISO-8601 with offset (with --from)" };
        var tz = new Option<string?>("--tz") { Description = "IANA time zone of the month, e.g. Europe/Berlin (default UTC)" };
        var endpoint = new Option<string?>("--endpoint") { Description = "One endpoint's requests and latency, e.g. \"GET /cart\"" };
        var asOf = new Option<DateTimeOffset?>("--as-of") { Description = "The report as it stood at this moment" };
        var format = new Option<string>("--format") { Description = "table, json or csv", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJsonCsv);

        var command = new Command("report", "SLA report of a service: every target against its actual value, downtime, error budgets")
        {
            service, month, from, to, tz, endpoint, asOf, format,
        };
        command.Validators.Add(result =>
        {
            var hasFrom = result.GetValue(from) is not null;
            if (hasFrom != (result.GetValue(to) is not null))
            {
                result.AddError("Give both --from and --to");
            }
            else if (hasFrom && result.GetValue(month) is not null)
            {
                result.AddError("Give either --month or --from/--to, not both");
            }
        });
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var query = new List<string>();
            Add(query, "month", parse.GetValue(month));
            Add(query, "from", parse.GetValue(from)?.ToString("O", CultureInfo.InvariantCulture));
            Add(query, "to", parse.GetValue(to)?.ToString("O", CultureInfo.InvariantCulture));
            Add(query, "tz", parse.GetValue(tz));
            Add(query, "endpoint", parse.GetValue(endpoint));
            Add(query, "asOf", parse.GetValue(asOf)?.ToString("O", CultureInfo.InvariantCulture));
            var selectedFormat = parse.GetValue(format)!;
            if (selectedFormat == "csv")
            {
                Add(query, "format", "csv");
            }
            var path = $"api/reports/{Uri.EscapeDataString(parse.GetValue(service)!)}" + (query.Count == 0 ? "" : "?" + string.Join('&', query));
            var body = await api.GetTextAsync(path, ct);
            switch (selectedFormat)
            {
                case "csv":
                    context.WriteRaw(body);
                    break;
                case "json":
                    context.WriteRaw(Indent(body));
                    break;
                default:
                    PrintReport(context.Console, JsonSerializer.Deserialize<Report>(body, ApiClient.Json)!);
                    break;
            }
            return 0;
        }));
        return command;
    }

    public static Command Status(CliContext context)
    {
        var tz = new Option<string?>("--tz") { Description = "IANA time zone that decides the current month (default UTC)" };
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJson);
        var command = new Command("status", "Every service against its targets for the current month") { tz, format };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var zone = parse.GetValue(tz);
            var body = await api.GetTextAsync("api/status" + (zone is null ? "" : $"?tz={Uri.EscapeDataString(zone)}"), ct);
            if (parse.GetValue(format) == "json")
            {
                context.WriteRaw(Indent(body));
                return 0;
            }
            var statuses = JsonSerializer.Deserialize<List<ServiceStatus>>(body, ApiClient.Json)!;
            var table = new Table().Border(TableBorder.Rounded).Title($"SLA status, this month ({zone ?? "UTC"})");
            table.AddColumn("service");
            table.AddColumn("SLA");
            foreach (var (name, _) in StatusColumns)
            {
                table.AddColumn(new TableColumn(name).RightAligned());
            }
            table.AddColumn(new TableColumn("error budget left").RightAligned());
            foreach (var status in statuses)
            {
                var cells = new List<Spectre.Console.Rendering.IRenderable>
                {
                    new Text(status.Service),
                    status.OverallMet ? new Markup("[green]met[/]") : new Markup("[red]BREACHED[/]"),
                };
                foreach (var (_, metric) in StatusColumns)
                {
                    var result = status.Metrics.FirstOrDefault(m => m.Metric == metric);
                    cells.Add(result is null ? new Text("—") : new Markup($"[{(result.Met ? "green" : "red")}]{Format.Actual(result.Actual, result.Unit)}[/]"));
                }
                cells.Add(new Text(Format.Number(status.ErrorBudgetRemainingPercent, 1) + " %"));
                table.AddRow(cells);
            }
            context.Console.Write(table);
            if (statuses.Count == 0)
            {
                context.Console.MarkupLine("[grey]No service has recorded anything yet.[/]");
            }
            await PipelineHealth.PrintAsync(context.Console, api, ct);
            return 0;
        }));
        return command;
    }

    private static readonly (string Name, string Metric)[] StatusColumns =
    [
        ("uptime %", "uptime"), ("availability %", "availability"), ("P95 ms", "latency_p95"), ("P99 ms", "latency_p99"), ("error rate %", "error_rate"),
    ];

    internal static void PrintReport(IAnsiConsole console, Report report)
    {
        var zone = Format.Zone(report.TimeZone);
        console.MarkupLineInterpolated(
            $"[bold]SLA report {report.Service}{(report.Endpoint is null ? "" : " " + report.Endpoint)}[/]  {Format.Instant(report.From, zone)} to {Format.Instant(report.To, zone)} ({report.TimeZone}){(report.AsOf is { } asOf ? $", as of {asOf:O}" : "")}");

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("metric");
        table.AddColumn(new TableColumn("target").RightAligned());
        table.AddColumn(new TableColumn("actual").RightAligned());
        table.AddColumn("result");
        foreach (var metric in report.Metrics)
        {
            table.AddRow(
                new Text(metric.Metric),
                new Text(Format.Target(metric)),
                new Text(metric.Actual is null ? "—" : $"{Format.Actual(metric.Actual, metric.Unit)} {metric.Unit}"),
                Format.Result(metric.Met));
        }
        console.Write(table);

        var r = report.Requests;
        var l = report.Latency;
        console.MarkupLineInterpolated(
            $"requests {Format.Number(r.Total)}  errors {Format.Number(r.Errors)}  error rate {(r.ErrorRatePercent is { } rate ? Format.Number(rate, 4) + " %" : "—")}  P50 {Format.Ms(l.P50Ms)}  P95 {Format.Ms(l.P95Ms)}  P99 {Format.Ms(l.P99Ms)}  max {Format.Ms(l.MaxMs)}");
        var u = report.Uptime;
        console.MarkupLineInterpolated(
            $"uptime {Format.Number(u.UptimePercent, 4)} %  downtime {Format.Duration(u.Downtime)} in {report.DowntimeEventCount} event(s){(u.Mttr is { } mttr ? $"  MTTR {Format.Duration(mttr)}" : "")}{(u.Mtbf is { } mtbf ? $"  MTBF {Format.Duration(mtbf)}" : "")}");
        if (report.DowntimeEvents.Count > 0)
        {
            var downtime = new Table().Border(TableBorder.Simple);
            downtime.AddColumn("start");
            downtime.AddColumn("end");
            downtime.AddColumn(new TableColumn("duration").RightAligned());
            downtime.AddColumn("sources");
            foreach (var d in report.DowntimeEvents)
            {
                downtime.AddRow(Format.Instant(d.Start, zone), Format.Instant(d.End, zone), Format.Duration(d.Duration), Markup.Escape(string.Join(", ", d.Sources)));
            }
            console.Write(downtime);
        }
        console.MarkupLineInterpolated($"error budget    {Budget(report.ErrorBudget, "requests")}");
        console.MarkupLineInterpolated($"downtime budget {Budget(report.DowntimeBudget, "min")}");
        console.MarkupLine(report.OverallMet ? "SLA: [green]met[/]" : "SLA: [red]BREACHED[/]");
        console.MarkupLineInterpolated($"[grey]targets: {report.TargetsSource}; computed at event {report.ComputedAtSequence}[/]");
    }

    private static string Budget(Budget budget, string unit) =>
        budget.ConsumedPercent is { } consumed
            ? $"{Format.Number(consumed, 1)} % used ({Format.Number(budget.Consumed, 2)} of {Format.Number(budget.Allowed, 2)} {unit} allowed)"
            : $"none allowed ({Format.Number(budget.Consumed, 2)} {unit} used)";

    private static void Add(List<string> query, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            query.Add($"{name}={Uri.EscapeDataString(value)}");
        }
    }

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The API's JSON, indented for reading (and for jq, which does not mind).</summary>
    internal static string Indent(string json) => JsonNode.Parse(json)?.ToJsonString(Indented) ?? json;
}
