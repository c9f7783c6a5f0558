using System.Diagnostics;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>Node.js scripts of the test folders (tests/browser, tests/otel-js): finding node and running one with a deadline.</summary>
public static class NodeScripts
{
    /// <summary>The node executable on PATH, or null.</summary>
    public static string? FindNode() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "node"))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs <paramref name="script"/> in <paramref name="folder"/>; past the timeout the process tree is killed and the test fails.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        string node, string folder, string script, IEnumerable<string> arguments, IDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = folder,
        };
        start.ArgumentList.Add(Path.Combine(folder, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
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
            Assert.Fail($"node {script} did not finish within {timeout}:\n{await errors}");
        }
        return (process.ExitCode, await output, await errors);
    }
}
