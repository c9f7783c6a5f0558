using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using JasperFx.Events;
using JasperFx.Events.Projections;
using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Local.Postgres;
using MaestroSla.Projections.Latency;
using Marten;
using Marten.Events.Projections;
using Npgsql;

// Issue #11 probe: how long the latency rollups take to project one minute's burst of series-minute events (one
// RequestsRecorded per series, stored in a few commits as the consumer stores a closed minute), and where that time
// goes. The daemon runs (Solo) and is caught up before each burst is committed, as in the live benchmark.
//
//   dotnet run -c Release --project bench/MaestroSla.ProjectionProbe -- --series 10000 --shards 2 --page 500 --bursts 3
//
// Every database round trip is timed through Npgsql's ActivitySource and put in a bucket by its SQL; the fold is the
// wall time of LatencyRollupProjection.ApplyAsync less the document loads made inside it. CPU of this process and of
// the PostgreSQL server (postmaster and its backends, from /proc) is sampled around each burst.

var arguments = Arguments.Parse(args);
var dataDirectory = Path.Combine(Path.GetTempPath(), $"maestrosla-probe-{Environment.ProcessId}");
await using var postgres = await EmbeddedPostgres.StartAsync(dataDirectory, new EmbeddedPostgresOptions { Durable = true });
try
{
    await Probe.RunAsync(postgres, arguments);
}
finally
{
    await postgres.StopAsync();
    Directory.Delete(dataDirectory, recursive: true);
}

internal sealed record Arguments(int Series, int Shards, int Page, int Bursts, int Commits, bool SkipOthers)
{
    public static Arguments Parse(string[] args)
    {
        int Value(string name, int fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
        }
        return new Arguments(
            Value("--series", 10_000), Value("--shards", 2), Value("--page", 500), Value("--bursts", 3), Value("--commits", 2),
            Array.IndexOf(args, "--only-rollups") >= 0);
    }
}

internal static class Probe
{
    public static async Task RunAsync(EmbeddedPostgres postgres, Arguments arguments)
    {
        var cpuModel = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        Console.WriteLine($"CPU {cpuModel}, {Environment.ProcessorCount} cores; series {arguments.Series}, shards {arguments.Shards}, " +
            $"page {arguments.Page}, bursts {arguments.Bursts}, commits per burst {arguments.Commits}");

        var timings = new Timings();
        using var listener = timings.Listen();
        var options = MaestroStore.Configure(new StoreOptions(), postgres.ConnectionString, arguments.Shards);
        var shards = new LatencyRollupShards(arguments.Shards);
        // The rollup shards wrapped so ApplyAsync is timed; the same names, filter and paging as configured.
        options.Projections.All.RemoveAll(p => LatencyRollupShards.IsShard(p.Name));
        if (arguments.SkipOthers)
        {
            options.Projections.All.Clear();
        }
        for (var index = 0; index < shards.Count; index++)
        {
            var timed = new TimedRollups(new LatencyRollupProjection(index, shards), timings);
            options.Projections.Add(timed, ProjectionLifecycle.Async, timed.Inner.ProjectionName);
        }
        foreach (var projection in options.Projections.All)
        {
            projection.Options.BatchSize = arguments.Page;
            projection.Options.MaximumHopperSize = Math.Max(projection.Options.MaximumHopperSize, 4 * arguments.Page);
        }

        using var store = new DocumentStore(options);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        using var daemon = (JasperFx.Events.Daemon.IProjectionDaemon)await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();

        var (services, endpoints) = arguments.Series <= 100 ? (1, arguments.Series) : ((arguments.Series + 99) / 100, 100);
        var hour = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, DateTime.UtcNow.Day, DateTime.UtcNow.Hour, 0, 0, TimeSpan.Zero);
        var shardNames = Enumerable.Range(0, shards.Count).Select(i => $"{LatencyRollupShards.NameOf(i)}:All").ToArray();
        var random = new Random(11);
        var histogram = new LatencyHistogram();

        for (var burst = 0; burst < arguments.Bursts; burst++)
        {
            // Each burst is the next minute of the same hour: the series' minute documents already hold the earlier ones.
            var minute = hour.AddMinutes(burst);
            var append = Stopwatch.StartNew();
            long lastSequence = 0;
            var perCommit = (services + arguments.Commits - 1) / arguments.Commits;
            for (var first = 0; first < services; first += perCommit)
            {
                await using var session = store.LightweightSession();
                for (var s = first; s < Math.Min(services, first + perCommit); s++)
                {
                    var service = $"svc-{s:D4}";
                    var stream = new List<object>(endpoints);
                    for (var e = 0; e < endpoints; e++)
                    {
                        histogram.Clear();
                        histogram.Record(random.Next(1_000, 200_000));
                        histogram.Record(random.Next(1_000, 200_000));
                        stream.Add(new RequestsRecorded(service, $"/api/endpoint-{e:D3}", [new MinuteOfRequests(minute, 2, 0, histogram.Encode())]));
                    }
                    session.Events.Append(IngestStreams.For(service, IngestStreams.KafkaSlot("probe", s % 4)), stream);
                }
                await session.SaveChangesAsync();
            }
            lastSequence = (await store.Advanced.FetchEventStoreStatistics()).EventSequenceNumber;
            append.Stop();

            timings.Reset();
            var cpu = CpuSample.Take(postgres);
            var clock = Stopwatch.StartNew();
            var steps = new List<(double Seconds, long Progress)>();
            long progress = 0;
            while (progress < lastSequence)
            {
                await using var query = store.QuerySession();
                progress = await MaestroSla.Projections.EventStore.EventStoreQueries.SlowestProgressAsync(query, shardNames, CancellationToken.None);
                if (steps.Count == 0 || steps[^1].Progress != progress)
                {
                    steps.Add((clock.Elapsed.TotalSeconds, progress));
                }
                if (clock.Elapsed > TimeSpan.FromMinutes(3))
                {
                    throw new TimeoutException($"burst {burst}: projected to {progress} of {lastSequence} after 3 minutes");
                }
                await Task.Delay(20);
            }
            var elapsed = clock.Elapsed;
            var used = CpuSample.Take(postgres) - cpu;
            var events = services * endpoints;
            Console.WriteLine();
            Console.WriteLine($"burst {burst + 1} (minute {burst} of the hour): {events:N0} events appended in {append.Elapsed.TotalSeconds:F2} s; " +
                $"projected in {elapsed.TotalSeconds:F2} s = {events / elapsed.TotalSeconds:N0} events/s; " +
                $"CPU: probe {used.Process / elapsed.TotalSeconds:F2} cores, PostgreSQL {used.Postgres / elapsed.TotalSeconds:F2} cores");
            Console.WriteLine("  slowest shard's progress (s: events left): " +
                string.Join(", ", steps.Select(s => $"{s.Seconds:F1}: {lastSequence - s.Progress}")));
            timings.Print(elapsed, shards.Count);
        }
        await daemon.StopAllAsync();
    }
}

/// <summary>A rollup shard with its ApplyAsync timed (the fold plus the batched document load inside it).</summary>
internal sealed class TimedRollups : ProjectionBase, IProjection
{
    private readonly Timings _timings;

    public TimedRollups(LatencyRollupProjection inner, Timings timings)
    {
        Inner = inner;
        _timings = timings;
        IncludeType<RequestsRecorded>();
    }

    public LatencyRollupProjection Inner { get; }

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var started = Stopwatch.GetTimestamp();
        await Inner.ApplyAsync(operations, events, cancellation);
        _timings.Add("ApplyAsync (fold + document load)", Stopwatch.GetElapsedTime(started), events.Count);
    }
}

/// <summary>Wall time per kind of work, summed over shards (which run concurrently).</summary>
internal sealed class Timings
{
    private readonly ConcurrentDictionary<string, (long Count, double Seconds, long Items)> _totals = new();
    private readonly ConcurrentDictionary<string, (long Count, double Seconds)> _statements = new();

    public void Reset()
    {
        _totals.Clear();
        _statements.Clear();
    }

    public void Add(string bucket, TimeSpan elapsed, long items = 0) =>
        _totals.AddOrUpdate(bucket, (1, elapsed.TotalSeconds, items), (_, t) => (t.Count + 1, t.Seconds + elapsed.TotalSeconds, t.Items + items));

    public ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                var sql = activity.GetTagItem("db.query.text") as string ?? activity.GetTagItem("db.statement") as string ?? activity.DisplayName;
                Add("db: " + Bucket(sql), activity.Duration);
                var key = sql.Length > 110 ? sql[..110] : sql;
                _statements.AddOrUpdate(key.ReplaceLineEndings(" "), (1, activity.Duration.TotalSeconds), (_, t) => (t.Count + 1, t.Seconds + activity.Duration.TotalSeconds));
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private static string Bucket(string sql) =>
        sql.Contains("mt_doc_latencyrollup", StringComparison.Ordinal) && sql.Contains("select", StringComparison.OrdinalIgnoreCase) && !sql.Contains("mt_upsert", StringComparison.Ordinal) ? "rollup document load"
        : sql.Contains("mt_upsert", StringComparison.Ordinal) || sql.Contains("mt_insert", StringComparison.Ordinal) || sql.Contains("mt_update", StringComparison.Ordinal) ? "page commit (document upserts + progression)"
        : sql.Contains("from maestro.mt_events as d", StringComparison.Ordinal) ? "event fetch (+ deserialise while reading)"
        : sql.Contains("mt_event_progression", StringComparison.Ordinal) ? "progression read/write"
        : sql.Contains("max(seq_id)", StringComparison.OrdinalIgnoreCase) || sql.Contains("mt_high_water", StringComparison.OrdinalIgnoreCase) || sql.Contains("HighWater", StringComparison.Ordinal) || sql.Contains("last_value", StringComparison.Ordinal) ? "high-water mark"
        : "other";

    public void Print(TimeSpan elapsed, int shards)
    {
        Console.WriteLine($"  wall {elapsed.TotalSeconds:F2} s × {shards} shards = {elapsed.TotalSeconds * shards:F2} shard-seconds available; summed time per kind:");
        foreach (var (bucket, (count, seconds, items)) in _totals.OrderByDescending(t => t.Value.Seconds))
        {
            Console.WriteLine($"    {bucket,-52} {seconds,7:F2} s in {count,6} calls{(items > 0 ? $" ({items:N0} events)" : "")}");
        }
        Console.WriteLine("  top statements:");
        foreach (var (sql, (count, seconds)) in _statements.OrderByDescending(s => s.Value.Seconds).Take(12))
        {
            Console.WriteLine($"    {seconds,7:F2} s {count,6}× {sql}");
        }
    }
}

internal readonly record struct CpuSample(double Process, double Postgres)
{
    public static CpuSample operator -(CpuSample a, CpuSample b) => new(a.Process - b.Process, a.Postgres - b.Postgres);

    /// <summary>CPU seconds of this process and of the cluster's postmaster with all its children.</summary>
    public static CpuSample Take(EmbeddedPostgres postgres)
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(postgres.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        double ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                // fields[1] = ppid, [11] utime, [12] stime (after pid and comm).
                if (pid == postmaster || int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
                {
                    ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The backend ended while it was read.
            }
        }
        return new CpuSample(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, ticks / 100.0);
    }
}
