using System.CommandLine;
using MaestroSla.Cli.Commands;
using Spectre.Console;

namespace MaestroSla.Cli;

/// <summary>What a command needs at run time: where to print, and how to reach the API.</summary>
public sealed class CliContext(IAnsiConsole console, Func<ParseResult, ApiClient> connect)
{
    public IAnsiConsole Console { get; } = console;

    public ApiClient Connect(ParseResult parse) => connect(parse);

    /// <summary>Text printed as is (JSON, CSV, YAML): no markup, no wrapping.</summary>
    public void WriteRaw(string text)
    {
        Console.Profile.Out.Writer.Write(text);
        if (!text.EndsWith('\n'))
        {
            Console.Profile.Out.Writer.WriteLine();
        }
        Console.Profile.Out.Writer.Flush();
    }
}

public static class MaestroCli
{
    public const string UrlVariable = "MAESTROSLA_URL";
    public const string ApiKeyVariable = "MAESTROSLA_API_KEY";
    public const string DefaultUrl = "http://localhost:5000";

    /// <summary>
    /// Runs one command line. Tests call this in process with their own console (and, for stubs, an HTTP
    /// handler); the environment is read through <paramref name="environment"/> so they can control it too.
    /// </summary>
    public static async Task<int> RunAsync(
        string[] args, IAnsiConsole console, HttpMessageHandler? handler = null, Func<string, string?>? environment = null,
        CancellationToken ct = default)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var url = new Option<string>("--url")
        {
            Description = $"MaestroSla API address [env {UrlVariable}]",
            Recursive = true,
            DefaultValueFactory = _ => environment(UrlVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultUrl,
        };
        var apiKey = new Option<string?>("--api-key")
        {
            Description = $"API key, sent as X-Api-Key [env {ApiKeyVariable}]",
            Recursive = true,
            DefaultValueFactory = _ => environment(ApiKeyVariable),
        };

        var context = new CliContext(console, parse =>
        {
            var address = parse.GetValue(url)!;
            if (!Uri.TryCreate(address.EndsWith('/') ? address : address + "/", UriKind.Absolute, out var baseAddress))
            {
                throw new ApiException($"--url must be an absolute address such as {DefaultUrl}, not '{address}'");
            }
            return new ApiClient(baseAddress, parse.GetValue(apiKey), handler);
        });

        var root = new RootCommand("MaestroSla from a terminal: SLA reports, status, targets, OpenSLO export/import, backups and restores.");
        root.Options.Add(url);
        root.Options.Add(apiKey);
        root.Subcommands.Add(ReportCommands.Report(context));
        root.Subcommands.Add(ReportCommands.Status(context));
        root.Subcommands.Add(StatementCommands.Statement(context));
        root.Subcommands.Add(TargetCommands.Targets(context));
        root.Subcommands.Add(OpenSloCommands.Export(context));
        root.Subcommands.Add(OpenSloCommands.Import(context));
        root.Subcommands.Add(BackupCommands.Backup(context));
        root.Subcommands.Add(BackupCommands.Restore(context));

        var output = console.Profile.Out.Writer;
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output }, ct);
    }

    /// <summary>Runs a command body; an API error becomes a red line and exit code 1 instead of a stack trace.</summary>
    internal static async Task<int> Guard(CliContext context, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (ApiException ex)
        {
            context.Console.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 1;
        }
        catch (IOException ex)
        {
            context.Console.MarkupLineInterpolated($"[red]error:[/] {ex.Message}");
            return 1;
        }
    }
}
