using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using MaestroSla.Contracts.Reports;
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
        var customer = new Option<string?>("--customer") { Description = "One customer's requests and latency (downtime stays the service's), e.g. tenant-7 or \"(other)\"" };
        var asOf = new Option<DateTimeOffset?>("--as-of") { Description = "The report as it stood at this moment" };
        var format = new Option<string>("--format") { Description = "table, json or csv", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJsonCsv);

        var command = new Command("report", "SLA report of a service: every target against its actual value, downtime, error budgets")
        {
            service, month, from, to, tz, endpoint, customer, asOf, format,
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
            var query = PeriodQuery(parse, month, from, to, tz, asOf);
            Add(query, "endpoint", parse.GetValue(endpoint));
            Add(query, "customer", parse.GetValue(customer));
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
                    PrintReport(context.Console, JsonSerializer.Deserialize<SlaReport>(body, ApiClient.Json)!);
                    break;
            }
            return 0;
        }));
        return command;
    }

    public static Command Status(CliContext context)
    {
        var tz = new Option<string?>("--tz") { Description = "IANA time zone that decides the current month (default UTC)" };
        var month = new Option<string?>("--month") { Description = "Calendar month, e.g. 2026-10 (default: the current month)" };
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJson);
        var command = new Command("status", "Every service against its targets for a month (the current one by default)") { tz, month, format };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var zone = parse.GetValue(tz);
            var query = new List<string>();
            Add(query, "tz", zone);
            Add(query, "month", parse.GetValue(month));
            var body = await api.GetTextAsync("api/status" + (query.Count == 0 ? "" : "?" + string.Join('&', query)), ct);
            if (parse.GetValue(format) == "json")
            {
                context.WriteRaw(Indent(body));
                return 0;
            }
            var statuses = JsonSerializer.Deserialize<List<ServiceStatus>>(body, ApiClient.Json)!;
            // Without --month the API answers the current month; say which, and where the data is when it has none.
            var months = await api.GetAsync<StatusMonths>("api/status/months" + (zone is null ? "" : "?tz=" + Uri.EscapeDataString(zone)), ct);
            var shown = parse.GetValue(month) ?? months.Current;
            // The month in progress counts only its elapsed part (periodStatus partial): say so.
            var progress = shown == months.Current ? ", partial: the month is in progress" : "";
            var table = StatusTable.Create(context.Console, $"SLA status, {shown} ({zone ?? "UTC"}{progress})", StatusColumns.Select(c => c.Name));
            foreach (var status in statuses)
            {
                var cells = new List<Spectre.Console.Rendering.IRenderable>
                {
                    new Text(status.Service),
                    Format.Result(status.Status, upper: true),
                };
                foreach (var (_, metric) in StatusColumns)
                {
                    var result = status.Metrics.FirstOrDefault(m => m.Metric == metric);
                    cells.Add(result is null ? new Text("—") : new Markup($"[{Format.Color(result.Status)}]{Format.Actual(result.Actual, result.Unit)}[/]"));
                }
                cells.Add(new Text(status.ErrorBudgetRemainingPercent is { } left ? Format.Number(left, 1) + " %" : "—"));
                table.AddRow(cells);
            }
            context.Console.Write(table);
            if (statuses.Count == 0)
            {
                context.Console.MarkupLine("[grey]No service has recorded anything yet.[/]");
            }
            else if (parse.GetValue(month) is null && months is { LatestWithData: { } latest } && latest != months.Current && statuses.All(s => s.Status == "no data"))
            {
                context.Console.MarkupLineInterpolated(
                    $"[yellow]{months.Current} has no requests yet; the latest month with data is {latest}:[/] maestrosla status --month {latest}{(zone is null ? "" : " --tz " + zone)}");
            }
            await PipelineHealth.PrintAsync(context.Console, api, ct);
            return 0;
        }));
        return command;
    }

    /// <summary>
    /// `export csv`: the summary CSV (one row per service, per endpoint with --endpoints) and the downtime-events CSV of
    /// a period, written as two files.
    /// </summary>
    public static Command ExportCsv(CliContext context)
    {
        var month = new Option<string?>("--month") { Description = "Calendar month, e.g. 2026-10 (default: the current month)" };
        var from = new Option<DateTimeOffset?>("--from") { Description = "Range start, ISO-8601 with offset (with --to)" };
        var to = new Option<DateTimeOffset?>("--to") { Description = "Range end, ISO-8601 with offset (with --from)" };
        var tz = new Option<string?>("--tz") { Description = "IANA time zone of the month, e.g. Europe/Berlin (default UTC)" };
        var service = new Option<string?>("--service") { Description = "One service (default: every service)" };
        var endpoints = new Option<bool>("--endpoints") { Description = "Also one summary row per endpoint" };
        var asOf = new Option<DateTimeOffset?>("--as-of") { Description = "The figures as they stood at this moment" };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Folder to write to", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var command = new Command("csv", "SLA summary (every figure of the report per service) and downtime events as two CSV files")
        {
            month, from, to, tz, service, endpoints, asOf, output,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(from) is null) != (result.GetValue(to) is null))
            {
                result.AddError("Give both --from and --to");
            }
        });
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var query = PeriodQuery(parse, month, from, to, tz, asOf);
            Add(query, "service", parse.GetValue(service));
            var common = string.Join('&', query);
            var summary = await api.GetTextAsync("api/exports/summary?" + common + (parse.GetValue(endpoints) ? "&endpoints=true" : ""), ct);
            var downtime = await api.GetTextAsync("api/exports/downtime?" + common, ct);

            var folder = parse.GetValue(output)!;
            folder.Create();
            // Named after what was asked for, so that monthly exports sit side by side.
            var label = parse.GetValue(month) ?? (parse.GetValue(from) is { } start
                ? $"{start.UtcDateTime:yyyyMMddTHHmm}-{parse.GetValue(to)!.Value.UtcDateTime:yyyyMMddTHHmm}"
                : "current");
            var prefix = parse.GetValue(service) is { } name ? $"sla-{SafeFileName(name)}-" : "sla-";
            var summaryFile = Path.Combine(folder.FullName, $"{prefix}summary-{label}.csv");
            var downtimeFile = Path.Combine(folder.FullName, $"{prefix}downtime-{label}.csv");
            await File.WriteAllTextAsync(summaryFile, summary, ct);
            await File.WriteAllTextAsync(downtimeFile, downtime, ct);
            context.Console.MarkupLineInterpolated($"wrote {summaryFile}");
            context.Console.MarkupLineInterpolated($"wrote {downtimeFile}");
            return 0;
        }));
        return command;
    }

    private static string SafeFileName(string name) =>
        string.Concat(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));

    private static readonly (string Name, string Metric)[] StatusColumns =
    [
        ("uptime %", "uptime"), ("avail. %", "availability"), ("P95 ms", "latency_p95"), ("P99 ms", "latency_p99"), ("errors %", "error_rate"),
    ];

    internal static void PrintReport(IAnsiConsole console, SlaReport report)
    {
        var zone = Format.Zone(report.TimeZone);
        console.MarkupLineInterpolated(
            $"[bold]SLA report {report.Service}{(report.Endpoint is null ? "" : " " + report.Endpoint)}{(report.Customer is null ? "" : " customer " + report.Customer)}[/]  {Format.Instant(report.From, zone)} to {Format.Instant(report.To, zone)} ({report.TimeZone}){(report.AsOf is { } asOf ? $", as of {asOf:O}" : "")}{(report.PeriodStatus == "partial" && report.ScheduledTo is { } end ? $", partial: the period ends {Format.Instant(end, zone)}" : "")}");

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
                Format.Result(metric.Status));
        }
        console.Write(table);

        var r = report.Requests;
        var l = report.Latency;
        console.MarkupLineInterpolated(
            $"requests {Format.Number(r.Total)}  errors {Format.Number(r.Errors)}  error rate {(r.ErrorRatePercent is { } rate ? Format.Number(rate, 4) + " %" : "—")}  P50 {Format.Ms(l.P50Ms)}  P95 {Format.Ms(l.P95Ms)}  P99 {Format.Ms(l.P99Ms)}  max {Format.Ms(l.MaxMs)}");
        var u = report.Uptime;
        console.MarkupLineInterpolated(
            $"uptime {(u.UptimePercent is { } uptime ? Format.Number(uptime, 4) + " %" : "—")}  downtime {Format.Duration(u.Downtime)} in {report.DowntimeEventCount} event(s){(u.Mttr is { } mttr ? $"  MTTR {Format.Duration(mttr)}" : "")}{(u.Mtbf is { } mtbf ? $"  MTBF {Format.Duration(mtbf)}" : "")}");
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
        console.Write(new Markup("SLA: "));
        console.Write(Format.Result(report.Status, upper: true));
        console.WriteLine();
        console.MarkupLineInterpolated($"[grey]targets: {report.TargetsSource}; computed at event {report.ComputedAtSequence}[/]");
    }

    private static string Budget(ErrorBudget budget, string unit) =>
        budget.ConsumedPercent is { } consumed
            ? $"{Format.Number(consumed, 1)} % used ({Format.Number(budget.Consumed, 2)} of {Format.Number(budget.Allowed, 2)} {unit} allowed)"
            : $"none allowed ({Format.Number(budget.Consumed, 2)} {unit} used)";

    /// <summary>The period parameters every report-shaped API call takes: month or from/to, time zone, as of.</summary>
    private static List<string> PeriodQuery(
        ParseResult parse, Option<string?> month, Option<DateTimeOffset?> from, Option<DateTimeOffset?> to, Option<string?> tz, Option<DateTimeOffset?> asOf)
    {
        var query = new List<string>();
        Add(query, "month", parse.GetValue(month));
        Add(query, "from", parse.GetValue(from)?.ToString("O", CultureInfo.InvariantCulture));
        Add(query, "to", parse.GetValue(to)?.ToString("O", CultureInfo.InvariantCulture));
        Add(query, "tz", parse.GetValue(tz));
        Add(query, "asOf", parse.GetValue(asOf)?.ToString("O", CultureInfo.InvariantCulture));
        return query;
    }

    internal static void Add(List<string> query, string name, string? value)
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
