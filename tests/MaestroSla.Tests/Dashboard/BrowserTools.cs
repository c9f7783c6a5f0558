using System.Diagnostics;
using MaestroSla.Tests.Infrastructure;

namespace MaestroSla.Tests.Dashboard;

/// <summary>
/// Node, Debian's Chromium and playwright-core for the browser test. Missing tools fail the test with what to
/// install (.ci/run installs them): a skipped browser test would let a broken dashboard pass unnoticed.
/// </summary>
public sealed record BrowserTools(string Node, string Chromium, string ScriptFolder)
{
    /// <summary>The check to run in tests/browser (dashboard.mjs, or statement.mjs for the printable statement).</summary>
    public string ScriptName { get; init; } = "dashboard.mjs";

    public string Script => Path.Combine(ScriptFolder, ScriptName);

    public static BrowserTools Require()
    {
        var folder = Path.Combine(Repository.Root, "tests", "browser");
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        var node = FindOnPath("node");
        var problems = new List<string>();
        if (node is null)
        {
            problems.Add("node is not on PATH (Debian: apt-get install nodejs)");
        }
        if (!File.Exists(chromium))
        {
            problems.Add($"{chromium} does not exist (Debian: apt-get install chromium, or set CHROMIUM_PATH)");
        }
        if (!File.Exists(Path.Combine(folder, "node_modules", "playwright-core", "package.json")))
        {
            problems.Add("playwright-core is not installed in tests/browser (run: npm ci --prefix tests/browser)");
        }
        if (problems.Count > 0)
        {
            Assert.Fail("The dashboard browser test needs Node.js, Chromium and playwright-core; .ci/run installs them.\n  - " + string.Join("\n  - ", problems));
        }
        return new BrowserTools(node!, chromium, folder);
    }

    public async Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> arguments, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = ScriptFolder,
        };
        start.ArgumentList.Add(Script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["CHROMIUM_PATH"] = Chromium;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node {Script} did not finish within {timeout}:\n{await errors}");
        }
        return (process.ExitCode, await output, await errors);
    }

    private static string? FindOnPath(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
