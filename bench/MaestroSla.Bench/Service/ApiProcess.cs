using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace MaestroSla.Bench.Service;

/// <summary>
/// The MaestroSla service (src/Api, built as it ships) run as a child process against the benchmark's PostgreSQL and
/// mock broker: what an operator runs, so that its consumer, daemon and HTTP endpoints are measured with the host's
/// own composition, GC and thread pool, and so that it can be killed with SIGKILL. Its log goes to a file; the lines
/// the benchmark counts (batches not stored, stream-version collisions, partitions assigned) are counted as they come.
/// </summary>
internal sealed partial class ApiProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _readingOut;
    private readonly Task _readingErr;
    private readonly Stopwatch _clock;
    private readonly ConcurrentQueue<(TimeSpan At, string Kind, int[] Partitions)> _assignments = new();
    private long _notStored;
    private long _collisions;
    private long _lostInput;
    private long _errors;

    private ApiProcess(string name, Process process, string logPath, int port, Stopwatch clock)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        Port = port;
        _clock = clock;
        _log = new StreamWriter(logPath) { AutoFlush = false };
        _readingOut = Task.Run(() => ReadAsync(process.StandardOutput));
        _readingErr = Task.Run(() => ReadAsync(process.StandardError));
    }

    public string Name { get; }

    public int Port { get; }

    public int ProcessId => _process.Id;

    public string LogPath { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public bool HasExited => _process.HasExited;

    /// <summary>"Batch of N messages not stored" (Kafka) and "HTTP ingest … not stored" warnings.</summary>
    public long NotStored => Interlocked.Read(ref _notStored);

    /// <summary>Log lines naming a stream-version collision (the unique key on stream and version, or Marten's exception).</summary>
    public long Collisions => Interlocked.Read(ref _collisions);

    public long LostInput => Interlocked.Read(ref _lostInput);

    /// <summary>Lines logged at error level (fail:) or above.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Partition assignments and revocations as logged, stamped with the benchmark's clock.</summary>
    public IReadOnlyCollection<(TimeSpan At, string Kind, int[] Partitions)> Assignments => _assignments;

    /// <summary>The partitions this process holds now, from its log.</summary>
    public HashSet<int> CurrentPartitions()
    {
        var held = new HashSet<int>();
        foreach (var (_, kind, partitions) in _assignments)
        {
            if (kind == "Assigned")
            {
                held.UnionWith(partitions);
            }
            else
            {
                held.ExceptWith(partitions);
            }
        }
        return held;
    }

    /// <summary>
    /// Starts src/Api's MaestroSla.Api.dll with <paramref name="settings"/> as environment variables (configuration
    /// keys with ':' written as '__'), from its own folder so that its appsettings.json is the base.
    /// </summary>
    public static ApiProcess Start(string name, IReadOnlyDictionary<string, string> settings, string logDirectory, Stopwatch clock)
    {
        var dll = FindApiDll();
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        // Routine lines off; what the benchmark counts stays (assignments are Information in the ingest namespace).
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        info.Environment["Logging__LogLevel__MaestroSla.Ingest"] = "Information";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        // These phases measure the JSON topic: no OTLP consumer beside it (the settings may still turn one on).
        info.Environment["Kafka__OtlpTopic"] = "";
        foreach (var (key, value) in settings)
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start MaestroSla.Api");
        return new ApiProcess(name, process, Path.Combine(logDirectory, $"{name}.log"), port, clock);
    }

    /// <summary>Waits until /healthz answers (the host has started: schema applied, consumer and daemon starting).</summary>
    public async Task WaitHealthyAsync(HttpClient http, TimeSpan timeout, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} while starting; log: {LogPath}");
            }
            try
            {
                using var response = await http.GetAsync(new Uri(BaseAddress, "healthz"), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} did not answer /healthz within {timeout.TotalSeconds:0} s; log: {LogPath}");
            }
            await Task.Delay(200, ct);
        }
    }

    /// <summary>SIGKILL: no shutdown of any kind, as when the host dies.</summary>
    public void Kill() => _process.Kill();

    /// <summary>SIGTERM, then waits: the host stops gracefully (the consumer stores what it holds and leaves the group).</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
        {
            return;
        }
        // .NET has no SIGTERM of its own (Process.Kill is SIGKILL); the kill command sends it.
        using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])))
        {
            await term!.WaitForExitAsync();
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"  {Name} did not stop within {timeout.TotalSeconds:0} s of SIGTERM: killed");
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public long RssBytes() => _process.HasExited ? 0 : Measuring.ProcStats.StatusBytes(_process.Id, "VmRSS");

    public long PeakRssBytes() => _process.HasExited ? 0 : Measuring.ProcStats.StatusBytes(_process.Id, "VmHWM");

    public double CpuSeconds() => _process.HasExited ? 0 : Measuring.ProcStats.ProcessCpuSeconds(_process.Id);

    private async Task ReadAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            Count(line);
            lock (_log)
            {
                _log.WriteLine(line);
            }
        }
    }

    private void Count(string line)
    {
        if (line.Contains("not stored", StringComparison.Ordinal) && !line.Contains("for lag tools", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _notStored);
        }
        if (line.Contains("pk_mt_events_stream_and_version", StringComparison.Ordinal)
            || line.Contains("EventStreamUnexpectedMaxEventIdException", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _collisions);
        }
        if (line.Contains("Lost input", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _lostInput);
        }
        if (line.StartsWith("fail:", StringComparison.Ordinal) || line.StartsWith("crit:", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _errors);
        }
        var match = PartitionsLine().Match(line);
        if (match.Success)
        {
            var partitions = match.Groups[2].Value
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => int.Parse(p.Split('@')[0], System.Globalization.CultureInfo.InvariantCulture))
                .ToArray();
            _assignments.Enqueue((_clock.Elapsed, match.Groups[1].Value, partitions));
        }
    }

    // TelemetryConsumer logs "Assigned 3@120,7@Beginning [-2]", "Revoked 3,7", "Lost 3,7".
    [GeneratedRegex(@"TelemetryConsumer\[0\] (Assigned|Revoked|Lost) ([0-9].*)$")]
    private static partial Regex PartitionsLine();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await StopAsync(TimeSpan.FromSeconds(30));
        }
        await Task.WhenAll(_readingOut, _readingErr);
        lock (_log)
        {
            _log.Dispose();
        }
        _process.Dispose();
    }

    /// <summary>src/Api/bin/Release/net10.0/MaestroSla.Api.dll of this checkout (built with the benchmark, which references it).</summary>
    private static string FindApiDll()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MaestroSla.sln")))
            {
                var dll = Path.Combine(directory.FullName, "src", "Api", "bin", "Release", "net10.0", "MaestroSla.Api.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution in Release first", dll);
            }
        }
        throw new DirectoryNotFoundException("MaestroSla.sln not found above " + AppContext.BaseDirectory);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
