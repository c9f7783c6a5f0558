using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Docs;

/// <summary>
/// Runs documentation examples as a reader would, in bash from the repository's root, one after the other:
/// variables a block sets reach the blocks after it; `localhost:5000` is the port of the service the test runs.
/// </summary>
public sealed class DocsShell(string workingDirectory, int port, IDictionary<string, string> environment, ITestOutputHelper output)
{
    // Prepended to every block: a failing command fails the block (as a reader would stop there), curl fails on an
    // HTTP error (its exit code 22, body still printed), assignments are exported, and the environment is saved for
    // the next block.
    // `dotnet tool` installs into the test's own folder (MAESTROSLA_DOCS_TOOLS), not the machine's ~/.dotnet/tools,
    // with a package cache of its own so that the tool is the one just packed; every other dotnet command sees the
    // machine's settings unchanged (else a changed NuGet home would restore and rebuild the checkout).
    private const string Prelude = """
        set -eo pipefail
        curl() { command curl --fail-with-body -sS "$@"; }
        dotnet() {
          if [ "$1" = tool ]; then DOTNET_CLI_HOME="$MAESTROSLA_DOCS_TOOLS" NUGET_PACKAGES="$MAESTROSLA_DOCS_TOOLS/packages" command dotnet "$@"
          else command dotnet "$@"; fi
        }
        trap 'env -0 > "$MAESTROSLA_DOCS_STATE"' EXIT
        set -a

        """;

    private readonly Dictionary<string, string> _environment = new(environment);

    public int Port { get; } = port;

    /// <summary>Where `dotnet tool` installs for the examples.</summary>
    public string ToolsHome => _environment["MAESTROSLA_DOCS_TOOLS"];

    public string Localize(string script) => script.Replace("localhost:5000", $"localhost:{Port}", StringComparison.Ordinal);

    public async Task<(int Exit, string Output)> RunAsync(ShellExample example, TimeSpan timeout)
    {
        var state = Path.GetTempFileName();
        var script = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(script, Prelude + Localize(example.Script) + "\n");
            var environment = new Dictionary<string, string>(_environment) { ["MAESTROSLA_DOCS_STATE"] = state };
            using var process = Start(script, environment, out var text);
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Signal(process, "KILL");
                await process.WaitForExitAsync();
                return (-1, text + $"\n(timed out after {timeout})");
            }
            process.WaitForExit(); // drains the output readers
            var saved = await File.ReadAllTextAsync(state);
            if (saved.Length > 0)
            {
                _environment.Clear();
                foreach (var pair in saved.Split('\0', StringSplitOptions.RemoveEmptyEntries))
                {
                    var equals = pair.IndexOf('=');
                    if (equals > 0 && pair[..equals] is not ("MAESTROSLA_DOCS_STATE" or "SHLVL" or "_" or "OLDPWD" or "PWD"))
                    {
                        _environment[pair[..equals]] = pair[(equals + 1)..];
                    }
                }
            }
            return (process.ExitCode, text.ToString());
        }
        finally
        {
            File.Delete(state);
            File.Delete(script);
        }
    }

    /// <summary>A block that runs until stopped (the service), in its own process group, in the current environment.</summary>
    public Service StartService(string script, string log)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, "set -a\n" + Localize(script) + "\n");
        var process = Start(file, new Dictionary<string, string>(_environment), out var text);
        return new Service(process, text, file, Port, log, output);
    }

    private Process Start(string scriptFile, IDictionary<string, string> environment, out StringBuilder text)
    {
        // setsid: the block and everything it starts form one process group, stopped together.
        var info = new ProcessStartInfo("setsid", ["bash", scriptFile])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.Environment.Clear();
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }
        var buffer = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(buffer, e.Data);
        process.ErrorDataReceived += (_, e) => Append(buffer, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        text = buffer;
        return process;
    }

    private static void Append(StringBuilder buffer, string? line)
    {
        if (line is not null)
        {
            lock (buffer)
            {
                buffer.AppendLine(line);
            }
        }
    }

    internal static void Signal(Process process, string signal)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, "--", "-" + process.Id]) { UseShellExecute = false })!;
            kill.WaitForExit();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The service a block started (the demo, or a restart of it).</summary>
    public sealed class Service(Process process, StringBuilder text, string scriptFile, int port, string log, ITestOutputHelper output) : IAsyncDisposable
    {
        public string Output
        {
            get
            {
                lock (text)
                {
                    return text.ToString();
                }
            }
        }

        /// <summary>Waits until the output holds <paramref name="line"/>; fails if the service ends first.</summary>
        public async Task WaitForOutputAsync(string line, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (!Output.Contains(line, StringComparison.Ordinal))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the service ended (exit {process.ExitCode}) before printing \"{line}\":\n{Tail()}");
                }
                if (clock.Elapsed > timeout)
                {
                    throw new TimeoutException($"the service did not print \"{line}\" within {timeout}:\n{Tail()}");
                }
                await Task.Delay(250);
            }
        }

        /// <summary>Waits until /ready answers 200 (PostgreSQL and the schema are there: it serves).</summary>
        public async Task WaitUntilReadyAsync(TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var clock = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the service ended (exit {process.ExitCode}) before it was ready:\n{Tail()}");
                }
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/ready"));
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Not listening yet (dotnet run builds first).
                }
                if (clock.Elapsed > timeout)
                {
                    throw new TimeoutException($"the service was not ready within {timeout}:\n{Tail()}");
                }
                await Task.Delay(500);
            }
        }

        private string Tail()
        {
            var all = Output;
            return all.Length > 4000 ? "…" + all[^4000..] : all;
        }

        /// <summary>Stops it as Ctrl+C would a foreground service (SIGTERM is handled the same way and reaches a background group).</summary>
        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                Signal(process, "TERM");
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
                try
                {
                    await process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    Signal(process, "KILL");
                    await process.WaitForExitAsync();
                }
            }
            process.WaitForExit();
            await File.WriteAllTextAsync(log, Output);
            output.WriteLine($"service log: {log}");
            process.Dispose();
            File.Delete(scriptFile);
        }
    }
}
