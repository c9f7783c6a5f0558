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
// Options: --series N (N/100 services × 100 endpoints), --shards K (Projections:RollupShards), --page B (the daemon's
// BatchSize; hopper 4×B), --bursts M (minutes 0..M-1 of one hour), --commits C (commits per burst),
// --only-rollups (no other async projection, so the overlap line reads cleanly with --shards 1),
// --shared-buffers-mb S (PostgreSQL's shared_buffers; its default is 128 MB).
// The embedded PostgreSQL is durable (fsync on) in a temporary directory removed afterwards.
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

internal sealed record Arguments(int Series, int Shards, int Page, int Bursts, int Commits, bool SkipOthers, int SharedBuffersMb)
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
            Array.IndexOf(args, "--only-rollups") >= 0, Value("--shared-buffers-mb", 0));
    }
}

internal static class Probe
{
    private static readonly string[] RequestTypes = ["requests_recorded"];

    public static async Task RunAsync(EmbeddedPostgres postgres, Arguments arguments)
    {
        var cpuModel = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        Console.WriteLine($"CPU {cpuModel}, {Environment.ProcessorCount} cores; series {arguments.Series}, shards {arguments.Shards}, " +
            $"page {arguments.Page}, bursts {arguments.Bursts}, commits per burst {arguments.Commits}");

        if (arguments.SharedBuffersMb > 0)
        {
            // PostgreSQL's default is 128 MB; at 50,000 series an hour's rollups and indexes outgrow it.
            await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand($"alter system set shared_buffers = '{arguments.SharedBuffersMb}MB'", connection);
                await command.ExecuteNonQueryAsync();
            }
            NpgsqlConnection.ClearAllPools();
            await postgres.StopAsync();
            await postgres.StartAgainAsync();
        }
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select current_setting('shared_buffers') || ', max_wal_size ' || current_setting('max_wal_size')", connection);
            Console.WriteLine($"PostgreSQL shared_buffers {await command.ExecuteScalarAsync()}");
        }

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

        // The daemon's knobs as this Marten/JasperFx version sets them (paging, polling, concurrency caps).
        Console.WriteLine("daemon settings: " + string.Join(", ", options.Projections.GetType().GetProperties()
            .Where(p => p.PropertyType == typeof(int) || p.PropertyType == typeof(TimeSpan) || p.PropertyType == typeof(int?) || p.PropertyType == typeof(bool))
            .Where(p => p.GetIndexParameters().Length == 0)
            .Select(p => $"{p.Name}={p.GetValue(options.Projections)}")));
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
            var walBefore = await WalBytesAsync(postgres);
            var cpu = CpuSample.Take(postgres);
            var clock = Stopwatch.StartNew();
            var steps = new List<(double Seconds, long Progress)>();
            var finished = new double?[shardNames.Length];
            long progress = 0;
            while (progress < lastSequence)
            {
                await using var query = store.QuerySession();
                progress = await MaestroSla.EventStore.EventStoreQueries.SlowestProgressAsync(query, shardNames, CancellationToken.None);
                for (var i = 0; i < shardNames.Length; i++)
                {
                    if (finished[i] is null
                        && await MaestroSla.EventStore.EventStoreQueries.SlowestProgressAsync(query, [shardNames[i]], CancellationToken.None) >= lastSequence)
                    {
                        finished[i] = clock.Elapsed.TotalSeconds;
                    }
                }
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
            var wal = await WalBytesAsync(postgres) - walBefore;
            var events = services * endpoints;
            Console.WriteLine();
            Console.WriteLine($"burst {burst + 1} (minute {burst} of the hour): {events:N0} events appended in {append.Elapsed.TotalSeconds:F2} s; " +
                $"projected in {elapsed.TotalSeconds:F2} s = {events / elapsed.TotalSeconds:N0} events/s; " +
                $"CPU: probe {used.Process:F2} s ({used.Process / elapsed.TotalSeconds:F2} cores), PostgreSQL {used.Postgres:F2} s ({used.Postgres / elapsed.TotalSeconds:F2} cores); " +
                $"WAL {wal / 1e6:F1} MB");
            Console.WriteLine("  each shard done after (s): " + string.Join(", ", finished.Select(f => $"{f ?? elapsed.TotalSeconds:F1}")));
            Console.WriteLine("  slowest shard's progress (s: events left): " +
                string.Join(", ", steps.Select(s => $"{s.Seconds:F1}: {lastSequence - s.Progress}")));
            timings.Print(elapsed, shards.Count);
            timings.PrintOverlap();
        }
        await daemon.StopAllAsync();
        await SizesAndRawFetchAsync(store, postgres, arguments.Page);
    }

    private static async Task<long> WalBytesAsync(EmbeddedPostgres postgres)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>What the rows weigh, and the daemon's page query read raw (no deserialising) against Marten's own read.</summary>
    private static async Task SizesAndRawFetchAsync(DocumentStore store, EmbeddedPostgres postgres, int page)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            "select 'events', count(*), avg(pg_column_size(data))::int, avg(octet_length(data::text))::int from maestro.mt_events",
            "select 'minute docs', count(*), avg(pg_column_size(data))::int, avg(octet_length(data::text))::int from maestro.mt_doc_minuterollups",
            "select 'hour/day docs', count(*), avg(pg_column_size(data))::int, avg(octet_length(data::text))::int from maestro.mt_doc_latencyrollup",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            Console.WriteLine($"{reader.GetString(0)}: {reader.GetInt64(1):N0} rows, {reader.GetInt32(2):N0} B stored, {reader.GetInt32(3):N0} B as text");
        }
        long last;
        await using (var max = new NpgsqlCommand("select max(seq_id) from maestro.mt_events", connection))
        {
            last = (long)(await max.ExecuteScalarAsync())!;
        }
        var raw = Stopwatch.StartNew();
        long bytes = 0;
        for (long floor = 0; floor < last; floor += page)
        {
            await using var command = new NpgsqlCommand(
                "select d.data, d.type, d.mt_dotnet_type, d.seq_id, d.id, d.stream_id, d.version, d.timestamp, s.type " +
                "from maestro.mt_events as d inner join maestro.mt_streams as s on d.stream_id = s.id " +
                "where d.seq_id > $1 and d.seq_id <= $2 and d.type = ANY($3) order by d.seq_id limit $4", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = floor });
            command.Parameters.Add(new NpgsqlParameter { Value = last });
            command.Parameters.Add(new NpgsqlParameter { Value = RequestTypes });
            command.Parameters.Add(new NpgsqlParameter { Value = page });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                bytes += reader.GetString(0).Length;
            }
        }
        raw.Stop();
        var marten = Stopwatch.StartNew();
        await using var session = store.QuerySession();
        var count = 0;
        for (long floor = 0; floor < last; floor += page)
        {
            var to = floor + page;
            count += (await session.Events.QueryAllRawEvents().Where(e => e.Sequence > floor && e.Sequence <= to).ToListAsync()).Count;
        }
        marten.Stop();
        Console.WriteLine($"all {last:N0} events in pages of {page}: raw SQL read {raw.Elapsed.TotalSeconds:F2} s ({bytes / 1e6:F1} MB of JSON); " +
            $"Marten read + deserialise {marten.Elapsed.TotalSeconds:F2} s ({count:N0} events)");
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

    private readonly ConcurrentQueue<(string Bucket, long Start, long End)> _intervals = new();

    public void Reset()
    {
        _intervals.Clear();
        _totals.Clear();
        _statements.Clear();
    }

    public void Add(string bucket, TimeSpan elapsed, long items = 0)
    {
        var end = Stopwatch.GetTimestamp();
        _intervals.Enqueue((bucket, end - (long)(elapsed.TotalSeconds * Stopwatch.Frequency), end));
        _totals.AddOrUpdate(bucket, (1, elapsed.TotalSeconds, items), (_, t) => (t.Count + 1, t.Seconds + elapsed.TotalSeconds, t.Items + items));
    }

    /// <summary>
    /// Seconds during which the daemon was fetching events, executing a page (ApplyAsync or the page's commit), both
    /// at once, or neither: with one rollup shard and no other projection (--shards 1 --only-rollups) this shows
    /// whether the next page is fetched while the current one is executed.
    /// </summary>
    public void PrintOverlap()
    {
        static List<(long Start, long End)> Union(IEnumerable<(long Start, long End)> intervals)
        {
            var merged = new List<(long Start, long End)>();
            foreach (var (start, end) in intervals.OrderBy(i => i.Start))
            {
                if (merged.Count > 0 && start <= merged[^1].End)
                {
                    merged[^1] = (merged[^1].Start, Math.Max(merged[^1].End, end));
                }
                else
                {
                    merged.Add((start, end));
                }
            }
            return merged;
        }
        static double Seconds(List<(long Start, long End)> set) => set.Sum(i => (double)(i.End - i.Start)) / Stopwatch.Frequency;
        var all = _intervals.ToArray();
        if (all.Length == 0)
        {
            return;
        }
        var fetch = Union(all.Where(i => i.Bucket.StartsWith("db: event fetch", StringComparison.Ordinal)).Select(i => (i.Start, i.End)));
        var execute = Union(all.Where(i => i.Bucket.StartsWith("ApplyAsync", StringComparison.Ordinal) || i.Bucket.StartsWith("db: page commit", StringComparison.Ordinal)
            || i.Bucket.StartsWith("db: progression", StringComparison.Ordinal)).Select(i => (i.Start, i.End)));
        var both = 0.0;
        foreach (var f in fetch)
        {
            foreach (var e in execute)
            {
                var overlap = Math.Min(f.End, e.End) - Math.Max(f.Start, e.Start);
                if (overlap > 0)
                {
                    both += (double)overlap / Stopwatch.Frequency;
                }
            }
        }
        var span = (double)(all.Max(i => i.End) - all.Min(i => i.Start)) / Stopwatch.Frequency;
        Console.WriteLine($"  fetching {Seconds(fetch):F2} s, executing pages {Seconds(execute):F2} s, both at once {both:F2} s, " +
            $"first to last round trip {span:F2} s");
    }

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
        : sql.Contains("unnest(array['latency_rollups_0", StringComparison.Ordinal) ? "probe's own progress polling (not the daemon)"
        : sql.Contains("mt_upsert", StringComparison.Ordinal) || sql.Contains("insert into maestro.mt_doc_", StringComparison.Ordinal)
            || sql.StartsWith("update maestro.mt_event_progression set last_seq_id", StringComparison.Ordinal) ? "page commit (document upserts + progression)"
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
