using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MaestroSla.Contracts.Statements;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

internal static class StatementCommands
{
    /// <summary>`statement CUSTOMER MONTH`: the customer's statement for the month (table, json, csv), as of a moment or as issued.</summary>
    public static Command Statement(CliContext context)
    {
        var customer = new Argument<string>("customer") { Description = "Customer with a contract (PUT /api/contracts/{customer})" };
        var month = new Argument<string>("month") { Description = "Calendar month in the contract's time zone, e.g. 2026-11" };
        var asOf = new Option<DateTimeOffset?>("--as-of") { Description = "The statement as it stood at this moment" };
        var asIssued = new Option<bool>("--as-issued") { Description = "The document as issued, byte for byte" };
        var format = new Option<string>("--format") { Description = "table, json or csv", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJsonCsv);
        var command = new Command("statement", "A customer's monthly statement: contract targets against adjusted figures, the service credit, raw beside adjusted per service")
        {
            customer, month, asOf, asIssued, format,
        };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var query = new List<string>();
            ReportCommands.Add(query, "asOf", parse.GetValue(asOf)?.ToString("O", CultureInfo.InvariantCulture));
            if (parse.GetValue(asIssued))
            {
                query.Add("asIssued=true");
            }
            var selected = parse.GetValue(format)!;
            if (selected == "csv")
            {
                query.Add("format=csv");
            }
            var path = $"api/contracts/{Uri.EscapeDataString(parse.GetValue(customer)!)}/statements/{Uri.EscapeDataString(parse.GetValue(month)!)}"
                + (query.Count == 0 ? "" : "?" + string.Join('&', query));
            var body = await api.GetTextAsync(path, ct);
            switch (selected)
            {
                case "csv":
                    context.WriteRaw(body);
                    break;
                case "json":
                    // As issued means byte for byte: printed untouched.
                    context.WriteRaw(parse.GetValue(asIssued) ? body : ReportCommands.Indent(body));
                    break;
                default:
                    Print(context.Console, JsonSerializer.Deserialize<Statement>(body, ApiClient.Json)!);
                    break;
            }
            return 0;
        }));
        return command;
    }

    private static void Print(IAnsiConsole console, Statement s)
    {
        var zone = Format.Zone(s.TimeZone);
        console.MarkupLineInterpolated(
            $"[bold]Statement {s.Customer} {s.Month}[/]  {Format.Instant(s.PeriodStart, zone)} to {Format.Instant(s.PeriodEnd, zone)} ({s.TimeZone})  [bold]{s.Status}[/]{(s.ScheduledEnd is { } end ? $" (the month ends {Format.Instant(end, zone)})" : "")}{(s.AsOf is { } asOf ? $", as of {asOf:O}" : "")}");
        console.MarkupLineInterpolated(
            $"contract version {s.ContractVersion}, measure {s.Measure}, maintenance: downtime {(s.ExcludeDowntime ? "excluded" : "counted")}, requests {(s.ExcludeRequests ? "excluded" : "counted")}");

        var metrics = new Table().Border(TableBorder.Rounded);
        metrics.AddColumn("metric");
        metrics.AddColumn(new TableColumn("target").RightAligned());
        metrics.AddColumn(new TableColumn("actual (adjusted)").RightAligned());
        metrics.AddColumn("result");
        foreach (var m in s.Metrics)
        {
            metrics.AddRow(
                new Text(m.Metric),
                new Text($"{Format.Comparison(m.Comparison)} {m.Target.ToString("0.####", CultureInfo.InvariantCulture)} {m.Unit}"),
                new Text(m.Actual is null ? "—" : $"{Format.Actual(m.Actual, m.Unit)} {m.Unit}"),
                Format.Result(m.Status));
        }
        console.Write(metrics);

        var services = new Table().Border(TableBorder.Simple);
        foreach (var column in new[] { "service", "requests", "excluded", "uptime % raw/adj", "avail. % raw/adj", "errors % raw/adj", "P99 ms raw/adj", "down s (excl.)", "result" })
        {
            services.AddColumn(column == "service" || column == "result" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }
        foreach (var f in s.Combined is null ? s.Services : s.Services.Append(s.Combined))
        {
            services.AddRow(
                new Text(f.Service),
                new Text(Format.Number(f.Requests)),
                new Text(Format.Number(f.ExcludedRequests)),
                new Text(Pair(f.UptimePercent, "%")),
                new Text(Pair(f.AvailabilityPercent, "%")),
                new Text(Pair(f.ErrorRatePercent, "%")),
                new Text(Pair(f.LatencyP99Ms, "ms")),
                new Text($"{Format.Number(f.DowntimeSeconds, 0)} ({Format.Number(f.ExcludedDowntimeSeconds, 0)})"),
                Format.Result(f.Status));
        }
        console.Write(services);
        if (s.CustomerId is { } customerId)
        {
            console.MarkupLineInterpolated($"requests of customer {customerId} only (downtime is the services')");
        }
        console.MarkupLineInterpolated($"maintenance windows applied: {s.MaintenanceWindows.Count}");
        console.Write(new Markup("contract: "));
        console.Write(Format.Result(s.Overall, upper: true));
        console.MarkupLineInterpolated(
            $"  credit {(s.CreditPercent is { } credit ? Format.Number(credit, 2) + " %" : "—")}{(s.CreditMetric is { } metric ? $" ({metric} {Format.Actual(s.CreditMetricActual, "%")} %)" : "")}");
        if (s.Issued is { } issued)
        {
            console.MarkupLineInterpolated($"issued {issued.At:O} by {issued.By}, sha256 {issued.Sha256 ?? "—"}; {s.Amendments.Count} amendment(s) since");
            foreach (var a in s.Amendments)
            {
                console.MarkupLineInterpolated(
                    $"  {a.LastRecordedAt:O} {a.Kind}: {a.Description}; credit {Format.Number(a.CreditPercentBefore ?? 0, 2)} % → {Format.Number(a.CreditPercentAfter ?? 0, 2)} %, {a.Changes.Count} figure(s) changed");
            }
        }
    }

    private static string Pair(RawAndAdjusted pair, string unit) => $"{Format.Actual(pair.Raw, unit)} / {Format.Actual(pair.Adjusted, unit)}";
}
