using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

/// <summary>
/// Backup and restore verbs over the admin API (see README.md, "Backups and restores", for the routes and the
/// answers these verbs understand). Long runs show a progress bar: the API's percentage when it reports one,
/// else a spinner with the elapsed time, polling the Location of a 202 answer or the backup list.
/// </summary>
internal static class BackupCommands
{
    private static readonly string[] BackupTypes = ["full", "incremental", "differential"];
    private static readonly string[] Succeeded = ["completed", "complete", "succeeded", "success", "done", "valid", "ok"];
    private static readonly string[] ListProperties = ["backups", "items", "data"];
    private static readonly string[] PercentProperties = ["percent", "progressPercent", "percentComplete"];
    private static readonly string[] Failed = ["failed", "failure", "error", "invalid", "cancelled", "canceled", "aborted"];

    public static Command Backup(CliContext context)
    {
        var command = new Command("backup", "Event-log backups (admin API: needs an admin API key)");
        command.Subcommands.Add(Create(context));
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Validate(context));
        command.Subcommands.Add(Rekey(context));
        return command;
    }

    public static Command Restore(CliContext context)
    {
        var backupId = new Argument<string?>("backup-id") { Description = "Backup to restore (default: the latest)", Arity = ArgumentArity.ZeroOrOne };
        var toTime = new Option<DateTimeOffset?>("--to-time") { Description = "Point in time: replay only events recorded up to this moment (ISO-8601)" };
        var target = new Option<string?>("--target") { Description = "Where to restore (database or schema, as the API names it; default: the API's)" };
        var force = new Option<bool>("--force") { Description = "Restore over a target that is not empty" };
        var otherStore = new Option<bool>("--other-store") { Description = "The backup named was made of another event store: restore it anyway" };
        var timeout = TimeoutOption();
        var command = new Command("restore", "Replays a backup chain (the latest when no backup-id is given) into an empty target (POST api/admin/restores), with progress")
        {
            backupId, toTime, target, force, otherStore, timeout,
        };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var request = new Dictionary<string, object?>
            {
                ["backupId"] = parse.GetValue(backupId),
                ["pointInTime"] = parse.GetValue(toTime),
                ["target"] = parse.GetValue(target),
                ["force"] = parse.GetValue(force),
                ["allowOtherStore"] = parse.GetValue(otherStore),
            };
            var description = parse.GetValue(backupId) is { } id ? $"restoring {id}" : "restoring the latest backup";
            var result = await RunWithProgressAsync(context, api, description, "api/admin/restores",
                token => api.SendJsonAsync(HttpMethod.Post, "api/admin/restores", request, token), parse.GetValue(timeout), ct);
            return Report(context, "restore", result);
        }));
        return command;
    }

    private static Command Create(CliContext context)
    {
        var type = new Option<string>("--type") { Description = "full, incremental (since the previous backup) or differential (since the last full)", DefaultValueFactory = _ => "full" };
        type.AcceptOnlyFromAmong(BackupTypes);
        var timeout = TimeoutOption();
        var command = new Command("create", "Takes a backup (POST api/admin/backups?type=), with progress") { type, timeout };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var kind = parse.GetValue(type)!;
            var result = await RunWithProgressAsync(context, api, $"{kind} backup", "api/admin/backups",
                token => api.SendJsonAsync(HttpMethod.Post, $"api/admin/backups?type={kind}", null, token), parse.GetValue(timeout), ct);
            return Report(context, "backup", result);
        }));
        return command;
    }

    private static Command List(CliContext context)
    {
        var format = new Option<string>("--format") { Description = "table or json", DefaultValueFactory = _ => "table" };
        format.AcceptOnlyFromAmong(Format.TableJson);
        var wide = new Option<bool>("--wide") { Description = "Every field the API gives, ids in full (default: the main columns, long ids shortened)" };
        var command = new Command("list", "Backups, newest first as the API lists them (GET api/admin/backups)") { format, wide };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var body = await api.GetTextAsync("api/admin/backups", ct);
            if (parse.GetValue(format) == "json")
            {
                context.WriteRaw(ReportCommands.Indent(body));
                return 0;
            }
            using var document = JsonDocument.Parse(body);
            var items = Items(document.RootElement);
            if (items.Count == 0)
            {
                context.Console.MarkupLine("[grey]No backups.[/]");
                return 0;
            }
            var isWide = parse.GetValue(wide);
            var columns = BackupListColumns.Select(items.SelectMany(ScalarNames).Distinct(StringComparer.Ordinal), items, isWide);
            var table = StatusTable.Fitted(context.Console).Title("backups");
            columns.ForEach(c => table.AddColumn(new TableColumn(c) { NoWrap = c == "id" }));
            foreach (var item in items)
            {
                table.AddRow(columns.Select(c => Markup.Escape(item.TryGetProperty(c, out var value) ? BackupListColumns.Cell(c, Scalar(value), isWide) : "")).ToArray());
            }
            context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command Validate(CliContext context)
    {
        var id = new Argument<string>("backup-id") { Description = "Backup to check (checksums, chain completeness)" };
        var command = new Command("validate", "Checks a backup (POST api/admin/backups/{id}/validate)") { id };
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var path = $"api/admin/backups/{Uri.EscapeDataString(parse.GetValue(id)!)}/validate";
            var result = await RunWithProgressAsync(context, api, $"validating {parse.GetValue(id)}", null,
                token => api.SendJsonAsync(HttpMethod.Post, path, null, token), TimeSpan.FromHours(1), ct);
            return Report(context, "validation", result);
        }));
        return command;
    }

    private static Command Rekey(CliContext context)
    {
        var command = new Command("rekey",
            "Re-seals every backup set with the service's current key and re-signs its manifest (POST api/admin/backups/rekey); old keys must still be in Backup:Encryption:PreviousKeys");
        command.SetAction((parse, ct) => MaestroCli.Guard(context, async () =>
        {
            using var api = context.Connect(parse);
            var result = await RunWithProgressAsync(context, api, "re-sealing backups", null,
                token => api.SendJsonAsync(HttpMethod.Post, "api/admin/backups/rekey", null, token), TimeSpan.FromHours(2), ct);
            var refused = result.ValueKind == JsonValueKind.Object && result.TryGetProperty("refused", out var list)
                && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0;
            var exit = Report(context, "rekey", result);
            return refused ? 1 : exit;
        }));
        return command;
    }

    private static Option<TimeSpan> TimeoutOption() => new("--timeout")
    {
        Description = "Give up waiting after this long (hh:mm:ss); the work goes on on the server",
        DefaultValueFactory = _ => TimeSpan.FromHours(2),
    };

    /// <summary>
    /// Starts the work and shows its progress until the answer says it is over: at once when the API answers
    /// with a finished result, else by polling the 202's Location, or the item with the same id in
    /// <paramref name="listPath"/>.
    /// </summary>
    private static async Task<JsonElement> RunWithProgressAsync(
        CliContext context, ApiClient api, string description, string? listPath,
        Func<CancellationToken, Task<(string Body, Uri? Location, HttpStatusCode Status)>> start, TimeSpan timeout, CancellationToken ct)
    {
        return await context.Console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask(Markup.Escape(description), autoStart: true, maxValue: 100);
                task.IsIndeterminate = true;
                var (body, location, _) = await start(ct);
                var current = Parse(body);
                var deadline = DateTimeOffset.UtcNow + timeout;
                while (true)
                {
                    if (PercentOf(current) is { } percent)
                    {
                        task.IsIndeterminate = false;
                        task.Value = percent;
                    }
                    var state = StateOf(current);
                    var id = IdOf(current);
                    var canPoll = location is not null || (listPath is not null && id is not null);
                    if (state is null || Succeeded.Contains(state) || Failed.Contains(state) || !canPoll)
                    {
                        break;
                    }
                    if (DateTimeOffset.UtcNow > deadline)
                    {
                        throw new ApiException($"still {state} after {timeout}; check later with `maestrosla backup list`");
                    }
                    await Task.Delay(TimeSpan.FromSeconds(1), ct);
                    if (location is not null)
                    {
                        current = Parse(await api.GetTextAsync(location.ToString(), ct));
                    }
                    else
                    {
                        using var list = JsonDocument.Parse(await api.GetTextAsync(listPath!, ct));
                        current = Items(list.RootElement).FirstOrDefault(i => IdOf(i) == id).Clone();
                    }
                }
                task.IsIndeterminate = false;
                task.Value = 100;
                task.StopTask();
                return current;
            });
    }

    private static int Report(CliContext context, string what, JsonElement result)
    {
        var state = StateOf(result);
        var failed = (state is not null && Failed.Contains(state))
            || (result.ValueKind == JsonValueKind.Object && result.TryGetProperty("valid", out var valid) && valid.ValueKind == JsonValueKind.False);
        if (result.ValueKind == JsonValueKind.Object)
        {
            var table = new Table().Border(TableBorder.Rounded).HideHeaders();
            table.AddColumn("field");
            table.AddColumn("value");
            foreach (var property in result.EnumerateObject())
            {
                table.AddRow(Markup.Escape(property.Name), Markup.Escape(Scalar(property.Value)));
            }
            context.Console.Write(table);
        }
        context.Console.MarkupLine(failed ? $"[red]{what} failed[/]" : $"[green]{what} done[/]");
        return failed ? 1 : 0;
    }

    private static JsonElement Parse(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return default;
        }
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    private static List<JsonElement> Items(JsonElement root)
    {
        if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var name in ListProperties)
            {
                if (root.TryGetProperty(name, out var inner) && inner.ValueKind == JsonValueKind.Array)
                {
                    return [.. inner.EnumerateArray()];
                }
            }
        }
        return root.ValueKind == JsonValueKind.Array ? [.. root.EnumerateArray()] : [];
    }

    private static string? IdOf(JsonElement element) => Text(element, "id", "backupId", "restoreId");

    private static string? StateOf(JsonElement element) => Text(element, "status", "state")?.ToLowerInvariant();

    private static double? PercentOf(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        foreach (var name in PercentProperties)
        {
            if (element.TryGetProperty(name, out var value) && value.TryGetDouble(out var percent))
            {
                return Math.Clamp(percent, 0, 100);
            }
        }
        return element.TryGetProperty("progress", out var fraction) && fraction.TryGetDouble(out var f) ? Math.Clamp(f * 100, 0, 100) : null;
    }

    private static string? Text(JsonElement element, params string[] names)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        foreach (var name in names)
        {
            if (element.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.String or JsonValueKind.Number)
            {
                return value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText();
            }
        }
        return null;
    }

    private static IEnumerable<string> ScalarNames(JsonElement item) =>
        item.ValueKind != JsonValueKind.Object ? [] : item.EnumerateObject().Where(p => p.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array)).Select(p => p.Name);

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.Number => value.TryGetInt64(out var n) ? n.ToString("N0", CultureInfo.InvariantCulture) : value.GetRawText(),
        JsonValueKind.Array => string.Join(", ", value.EnumerateArray().Select(Scalar)),
        JsonValueKind.Object => value.GetRawText(),
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        _ => value.GetRawText(),
    };
}
