using System.Diagnostics;
using System.Globalization;
using System.Text;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Service;
using MaestroSla.Bench.Traffic;
using Npgsql;

namespace MaestroSla.Bench.Phases;

/// <summary>One wrk run: answers by status, latency, and what the database holds afterwards.</summary>
internal sealed record HttpRun(
    int Series, int Batch, int Connections, TimeSpan Duration, long Ok, long RetryAfter503, IReadOnlyDictionary<string, long> OtherStatuses,
    long SocketErrors, double P50Ms, double P99Ms, double MaxMs, long StoredMessages, long Events, double? TargetRate, string Verification, bool Exact)
{
    public double RequestsPerSecond => (Ok + RetryAfter503 + OtherStatuses.Values.Sum()) / Duration.TotalSeconds;

    /// <summary>Messages answered 200 (and found stored) per second; requests still in flight when wrk stopped are left out.</summary>
    public double StoredPerSecond => Ok * (double)Batch / Duration.TotalSeconds;

    public long Failures => OtherStatuses.Values.Sum() + SocketErrors;
}

internal sealed record HttpOutcome(IReadOnlyList<HttpRun> Runs, IReadOnlyDictionary<int, IngestOutcome> Kafka, long ServicePeakRssBytes, IReadOnlyList<string> Problems)
{
    public bool Verified => Problems.Count == 0;
}

/// <summary>
/// wrk against POST /api/ingest of the running service (src/Api as a child process, consumer and projections off):
/// 1, 16 and 64 connections, batches of 100 and 1,000 messages, 100 and 10,000 series. After each run the database
/// must hold every message of every 200 exactly once (counted from the events appended during the run). Then each
/// 1,000-message shape once more at half its saturation rate, for the latency; and the Kafka path at the same series
/// (TelemetryConsumer draining a backlog) for the ratio.
/// </summary>
internal static class HttpPhase
{
    public static async Task<HttpOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, string logDirectory, Microsoft.Extensions.Logging.ILoggerFactory logs,
        CancellationToken ct)
    {
        var problems = new List<string>();
        var runs = new List<HttpRun>();
        var connectionString = await environment.CreateDatabaseAsync("http_ingest");
        var clock = Stopwatch.StartNew();
        var settings = LivePhase.ServiceSettings(options, environment, connectionString, "http.unused");
        settings["Kafka:ConsumerEnabled"] = "false";
        settings["Projections:Daemon"] = "Disabled";
        await environment.LoadGenerator.CreateTopicAsync("http.unused", ct, 1);

        long peakRss;
        await using (var service = ApiProcess.Start("http-ingest", settings, logDirectory, clock))
        {
            // Long: the first request compiles Wolverine's handler chain (14 s was seen on the loaded machine).
            using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            await service.WaitHealthyAsync(http, TimeSpan.FromMinutes(2), ct);
            var url = new Uri(service.BaseAddress, "api/ingest").ToString();
            foreach (var series in options.HttpSeries)
            {
                foreach (var batch in options.HttpBatches)
                {
                    var bodies = WriteBodies(series, batch, options);
                    try
                    {
                        // One request untimed: the first one pays for JIT and the connection pools.
                        using (var warmup = await http.PostAsync(url, new ByteArrayContent(await File.ReadAllBytesAsync(Path.Combine(bodies.Folder, "body-0.json"), ct))
                        {
                            Headers = { ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") },
                        }, ct))
                        {
                            Console.WriteLine($"  warm-up request: {(int)warmup.StatusCode}");
                        }
                        HttpRun? saturated = null;
                        foreach (var connections in options.HttpConnections)
                        {
                            var run = await RunWrkAsync(options, connectionString, url, bodies, series, batch, connections, null, 0, ct);
                            runs.Add(run);
                            Console.WriteLine(Describe(run));
                            if (saturated is null || run.Ok / run.Duration.TotalSeconds > saturated.Ok / saturated.Duration.TotalSeconds)
                            {
                                saturated = run;
                            }
                        }
                        if (batch == 1_000 && saturated is not null && saturated.Ok > 0)
                        {
                            // Below saturation: 8 connections, each waiting so that together they post half the best rate.
                            var target = 0.5 * saturated.Ok / saturated.Duration.TotalSeconds;
                            var unloaded = runs.FirstOrDefault(r => r.Series == series && r.Batch == batch && r.Connections == 1)?.P50Ms ?? 0;
                            var delayMs = Math.Max(0, (8 * 1000 / target) - unloaded);
                            var run = await RunWrkAsync(options, connectionString, url, bodies, series, batch, 8, target, (int)delayMs, ct);
                            runs.Add(run);
                            Console.WriteLine(Describe(run));
                        }
                    }
                    finally
                    {
                        Directory.Delete(bodies.Folder, recursive: true);
                    }
                }
            }
            peakRss = service.PeakRssBytes();
            if (service.Collisions > 0)
            {
                problems.Add($"{service.Collisions} stream-version collisions in {service.LogPath}");
            }
        }
        foreach (var run in runs.Where(r => !r.Exact))
        {
            problems.Add($"{run.Series} series × {run.Batch}, {run.Connections} connections: {run.Verification}");
        }

        // The Kafka path at the same series: one TelemetryConsumer draining a backlog of the same shape.
        var kafka = new Dictionary<int, IngestOutcome>();
        foreach (var series in options.HttpSeries)
        {
            var (services, endpoints) = LiveTraffic.Split(series);
            var shape = options with
            {
                Services = services, EndpointsPerService = endpoints, DrainMessages = options.HttpKafkaMessages, DrainPartitions = options.Partitions,
                SpanHours = 0.05,
            };
            Console.WriteLine($"  Kafka path at {series:N0} series: TelemetryConsumer draining {options.HttpKafkaMessages:N0} messages");
            var drain = await DrainPhase.RunAsync(shape, environment, trafficEnd, AverageBytes(shape, trafficEnd), logs, ct, $"_{series}");
            kafka[series] = drain;
            Console.WriteLine($"  {drain.RequestsPerSecond:N0} messages/s");
            problems.AddRange(drain.Problems);
        }
        return new HttpOutcome(runs, kafka, peakRss, problems);
    }

    private static double AverageBytes(BenchOptions shape, DateTimeOffset end) =>
        new SyntheticTraffic(Kafka.LoadGenerator.Shape(shape), end, shape.DrainMessages).AverageBytes;

    public static string Describe(HttpRun run) => string.Create(CultureInfo.InvariantCulture,
        $"  {run.Series,6:N0} series × {run.Batch,5:N0} msgs, {run.Connections,2} conn{(run.TargetRate is { } t ? $" paced to {t:N0}/s" : "")}: {run.RequestsPerSecond,7:N0} req/s, {run.StoredPerSecond,9:N0} msgs/s stored, 200: {run.Ok:N0}, 503+Retry-After: {run.RetryAfter503:N0}, other: {(run.OtherStatuses.Count == 0 ? "0" : string.Join(" ", run.OtherStatuses.Select(s => $"{s.Key}×{s.Value}")))}, socket errors {run.SocketErrors}, p50 {run.P50Ms:0.0} ms p99 {run.P99Ms:0.0} ms; {run.Events / (double)Math.Max(1, run.StoredMessages):0.000} events/msg; {run.Verification}");

    private sealed record Bodies(string Folder, int Count);

    /// <summary>Request bodies of <paramref name="batch"/> messages each, stamped now, cycling over the series.</summary>
    private static Bodies WriteBodies(int series, int batch, BenchOptions options)
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-bench-http-").FullName;
        var traffic = new LiveTraffic(series, options.ErrorRate, options.Seed);
        var count = Math.Clamp((series + batch - 1) / batch, 64, 200);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long index = 0;
        for (var b = 0; b < count; b++)
        {
            using var file = File.Create(Path.Combine(folder, $"body-{b}.json"));
            file.WriteByte((byte)'[');
            for (var m = 0; m < batch; m++)
            {
                if (m > 0)
                {
                    file.WriteByte((byte)',');
                }
                file.Write(traffic.Message(index, now + (index % 1000), out _));
                index++;
            }
            file.WriteByte((byte)']');
        }
        return new Bodies(folder, count);
    }

    private static async Task<HttpRun> RunWrkAsync(
        BenchOptions options, string connectionString, string url, Bodies bodies, int series, int batch, int connections,
        double? targetRate, int delayMs, CancellationToken ct)
    {
        var before = await MaxSequenceAsync(connectionString, ct);
        var info = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "-t", Math.Min(connections, 2).ToString(CultureInfo.InvariantCulture),
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{options.HttpSeconds.ToString("0", CultureInfo.InvariantCulture)}s",
            "--timeout", "30s",
            "-s", Path.Combine(AppContext.BaseDirectory, "Http", "ingest.lua"),
            url,
        })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["WRK_BODIES"] = bodies.Folder;
        info.Environment["WRK_BODY_COUNT"] = bodies.Count.ToString(CultureInfo.InvariantCulture);
        info.Environment["WRK_DELAY_MS"] = delayMs.ToString(CultureInfo.InvariantCulture);
        using var wrk = Process.Start(info) ?? throw new InvalidOperationException("Could not start wrk (Debian package wrk)");
        var output = await wrk.StandardOutput.ReadToEndAsync(ct);
        var errors = await wrk.StandardError.ReadToEndAsync(ct);
        await wrk.WaitForExitAsync(ct);
        if (wrk.ExitCode != 0)
        {
            throw new InvalidOperationException($"wrk exited with {wrk.ExitCode}: {errors}{output}");
        }

        long ok = 0, retry = 0, socketErrors = 0;
        var other = new Dictionary<string, long>();
        double p50 = 0, p99 = 0, max = 0;
        var duration = TimeSpan.FromSeconds(options.HttpSeconds);
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            switch (parts[0])
            {
                case "bench-status" when parts[1] == "200":
                    ok = long.Parse(parts[2], CultureInfo.InvariantCulture);
                    break;
                case "bench-status" when parts[1] == "503-retry-after":
                    retry = long.Parse(parts[2], CultureInfo.InvariantCulture);
                    break;
                case "bench-status":
                    other[parts[1]] = long.Parse(parts[2], CultureInfo.InvariantCulture);
                    break;
                case "bench-latency-us":
                    p50 = double.Parse(parts[1], CultureInfo.InvariantCulture) / 1000;
                    p99 = double.Parse(parts[2], CultureInfo.InvariantCulture) / 1000;
                    max = double.Parse(parts[3], CultureInfo.InvariantCulture) / 1000;
                    break;
                case "bench-summary":
                    duration = TimeSpan.FromMicroseconds(double.Parse(parts[1], CultureInfo.InvariantCulture));
                    // connect, read, write, timeout (non-2xx statuses are counted by status above)
                    socketErrors = parts.Skip(3).Take(4).Sum(p => long.Parse(p, CultureInfo.InvariantCulture));
                    break;
            }
        }

        // Requests wrk still had in flight when it stopped may be stored without wrk seeing the 200: let them finish.
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var (stored, events) = await StoredSinceAsync(connectionString, before, ct);
        var expected = ok * batch;
        string verification;
        var exact = false;
        if (stored == expected)
        {
            verification = "every 200's messages stored once";
            exact = true;
        }
        else if (stored > expected && (stored - expected) % batch == 0 && (stored - expected) / batch <= connections)
        {
            verification = $"every 200's messages stored once, plus {(stored - expected) / batch} request(s) in flight when wrk stopped";
            exact = true;
        }
        else
        {
            verification = $"MISMATCH: stored {stored:N0} messages, answered 200 for {expected:N0}";
        }
        return new HttpRun(series, batch, connections, duration, ok, retry, other, socketErrors, p50, p99, max, stored, events, targetRate, verification, exact);
    }

    private static async Task<long> MaxSequenceAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"select coalesce(max(seq_id), 0) from {MaestroStore.Schema}.mt_events", connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Requests in the request events appended after <paramref name="sequence"/>, and how many events that took.</summary>
    private static async Task<(long Requests, long Events)> StoredSinceAsync(string connectionString, long sequence, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select coalesce(sum((m->>'Requests')::bigint), 0)::bigint, count(distinct e.seq_id)
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded' and e.seq_id > $1
            """, connection) { CommandTimeout = 600 };
        command.Parameters.Add(new NpgsqlParameter { Value = sequence });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
