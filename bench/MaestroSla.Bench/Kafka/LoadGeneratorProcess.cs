using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Threading.Channels;

namespace MaestroSla.Bench.Kafka;

/// <summary>What the load generator reports after producing (and flushing) a range of the traffic.</summary>
internal sealed record ProduceReport(
    long Messages, long ErrorRequests, long Undelivered, double AverageBytes, TimeSpan Elapsed, TimeSpan PacedWait, long MaxLeadPerPartition);

/// <summary>What the load generator reports after producing OTLP exports: messages, spans, SERVER spans and their 5xx.</summary>
internal sealed record OtlpProduceReport(
    long Exports, long Spans, long ServerSpans, long ErrorSpans, long Undelivered, double AverageBytes, TimeSpan Elapsed, TimeSpan PacedWait);

/// <summary>What the load generator reports after a paced run of live traffic.</summary>
internal sealed record PaceReport(
    long Messages, long ErrorRequests, DateTimeOffset StartedAt, TimeSpan Elapsed, long Undelivered, TimeSpan MaxBehind, double AverageBytes)
{
    public double Rate => Messages / Elapsed.TotalSeconds;
}

/// <summary>The benchmark's side of <see cref="LoadGenerator"/>: starts this same program as a child process and drives it.</summary>
internal sealed class LoadGeneratorProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _replies = Channel.CreateUnbounded<string>();
    private readonly Task _readingReplies;
    private readonly Task _echoingErrors;

    private LoadGeneratorProcess(Process process)
    {
        _process = process;
        _readingReplies = Task.Run(ReadRepliesAsync);
        _echoingErrors = Task.Run(EchoErrorsAsync);
    }

    public int ProcessId => _process.Id;

    public string BootstrapServers { get; private set; } = "";

    public static async Task<LoadGeneratorProcess> StartAsync(string[] args, CancellationToken ct)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell this program's path");
        info.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }
        foreach (var argument in args)
        {
            info.ArgumentList.Add(argument);
        }
        info.ArgumentList.Add("--role-load-generator");
        // The load generator is not under test: a workstation GC keeps its footprint small.
        info.Environment["DOTNET_gcServer"] = "0";

        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the load generator");
        var generator = new LoadGeneratorProcess(process);
        var ready = await generator.ReplyAsync("ready", ct);
        generator.BootstrapServers = ready[1];
        return generator;
    }

    public async Task CreateTopicAsync(string topic, CancellationToken ct, int? partitions = null)
    {
        await SendAsync(partitions is { } count ? string.Create(CultureInfo.InvariantCulture, $"topic {topic} {count}") : $"topic {topic}");
        await ReplyAsync("topic", ct);
    }

    /// <summary>
    /// Produces traffic messages [from, from + count) round robin over the partitions, keeping every partition's
    /// lead over <paramref name="slowestStored"/> (the lowest next offset the consumer has stored for any
    /// partition) under the given bytes.
    /// </summary>
    public async Task<ProduceReport> ProduceAsync(
        string topic, long from, long count, long trafficCount, DateTimeOffset end, double leadBytesPerPartition,
        Func<long> slowestStored, CancellationToken ct, BenchOptions? shape = null)
    {
        // The child parsed the run's options; another traffic shape travels with the command.
        var shapeArguments = shape is null ? "" : string.Create(CultureInfo.InvariantCulture, $" {shape.Services} {shape.EndpointsPerService} {shape.SpanHours}");
        await SendAsync(string.Create(CultureInfo.InvariantCulture,
            $"produce {topic} {from} {count} {trafficCount} {end.ToUnixTimeMilliseconds()} {leadBytesPerPartition}{shapeArguments}"));
        var reply = ReplyAsync("produced", ct);
        var last = -1L;
        while (!reply.IsCompleted)
        {
            var now = slowestStored();
            if (now != last)
            {
                await SendAsync(string.Create(CultureInfo.InvariantCulture, $"s {now}"));
                last = now;
            }
            await Task.WhenAny(reply, Task.Delay(5, ct));
        }
        var parts = await reply;
        double Number(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
        return new ProduceReport(
            (long)Number(2), (long)Number(3), (long)Number(4), Number(5),
            TimeSpan.FromMilliseconds(Number(6)), TimeSpan.FromMilliseconds(Number(7)), (long)Number(8));
    }

    /// <summary>
    /// <paramref name="exports"/> OTLP trace exports in protobuf (<see cref="OtlpLoad"/>), round robin, each partition
    /// kept within <paramref name="leadBytesPerPartition"/> of <paramref name="slowestStored"/>.
    /// </summary>
    public async Task<OtlpProduceReport> ProduceOtlpAsync(
        string topic, long exports, int spansPerExport, int series, DateTimeOffset end, TimeSpan spread, double leadBytesPerPartition,
        Func<long> slowestStored, CancellationToken ct)
    {
        await SendAsync(string.Create(CultureInfo.InvariantCulture,
            $"otlp {topic} {exports} {spansPerExport} {series} {end.ToUnixTimeMilliseconds()} {spread.TotalSeconds} {leadBytesPerPartition}"));
        var reply = ReplyAsync("produced-otlp", ct);
        var last = -1L;
        while (!reply.IsCompleted)
        {
            var now = slowestStored();
            if (now != last)
            {
                await SendAsync(string.Create(CultureInfo.InvariantCulture, $"s {now}"));
                last = now;
            }
            await Task.WhenAny(reply, Task.Delay(5, ct));
        }
        var parts = await reply;
        double Number(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
        return new OtlpProduceReport(
            (long)Number(2), (long)Number(3), (long)Number(4), (long)Number(5), (long)Number(6), Number(7),
            TimeSpan.FromMilliseconds(Number(8)), TimeSpan.FromMilliseconds(Number(9)));
    }

    /// <summary>Live traffic messages [from, from + rate × seconds) at <paramref name="rate"/> per second, stamped as they are made.</summary>
    public async Task<PaceReport> PaceAsync(string topic, long from, double rate, double seconds, int series, CancellationToken ct)
    {
        await SendAsync(string.Create(CultureInfo.InvariantCulture, $"pace {topic} {from} {rate} {seconds} {series}"));
        var parts = await ReplyAsync("paced", ct);
        double Number(int i) => double.Parse(parts[i], CultureInfo.InvariantCulture);
        return new PaceReport(
            (long)Number(2), (long)Number(3), DateTimeOffset.FromUnixTimeMilliseconds((long)Number(4)), TimeSpan.FromMilliseconds(Number(5)),
            (long)Number(6), TimeSpan.FromMilliseconds(Number(7)), Number(8));
    }

    private async Task SendAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
    }

    private async Task<string[]> ReplyAsync(string expected, CancellationToken ct)
    {
        var line = await _replies.Reader.ReadAsync(ct);
        var parts = line.Split(' ');
        return parts[0] == expected
            ? parts
            : throw new InvalidOperationException($"Load generator said '{line}' where '{expected}' was expected");
    }

    private async Task ReadRepliesAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            await _replies.Writer.WriteAsync(line);
        }
        _replies.Writer.Complete(new InvalidOperationException(
            $"The load generator exited{(_process.HasExited ? $" with code {_process.ExitCode}" : "")}"));
    }

    private async Task EchoErrorsAsync()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            await Console.Error.WriteLineAsync("[load generator] " + line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // End of stdin tells the child to stop its cluster and exit.
        _process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        await Task.WhenAll(_readingReplies, _echoingErrors);
        _process.Dispose();
    }
}
