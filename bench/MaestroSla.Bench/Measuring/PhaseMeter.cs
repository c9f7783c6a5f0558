using System.Diagnostics;
using System.Runtime;
using Npgsql;

namespace MaestroSla.Bench.Measuring;

/// <summary>The processes a phase's CPU time is split over.</summary>
internal sealed record Participants(int LoadGeneratorPid, int PostmasterPid, string PostgresAdminConnectionString);

/// <summary>What one phase cost: wall time, CPU per process (and per thread group here), memory, GC and WAL.</summary>
internal sealed record PhaseCost(
    TimeSpan Wall,
    double BenchCpuSeconds,
    double LoadGeneratorCpuSeconds,
    double PostgresCpuSeconds,
    double OtherCpuSeconds,
    IReadOnlyList<(string Group, double Seconds)> BenchThreads,
    long BenchPeakRssBytes,
    long LoadGeneratorPeakRssBytes,
    long PostgresRssBytes,
    int Gen0,
    int Gen1,
    int Gen2,
    TimeSpan GcPause,
    long MaxGcHeapBytes,
    long WalBytes,
    long WalSyncs,
    long WalFullPageImages,
    long Checkpoints)
{
    public double Cores(double seconds) => seconds / Wall.TotalSeconds;
}

/// <summary>Takes the readings at the start of a phase and turns the ones at its end into a <see cref="PhaseCost"/>.</summary>
internal sealed class PhaseMeter
{
    private readonly Participants _participants;
    private readonly Stopwatch _wall = new();
    private Reading _start = null!;
    private long _maxGcHeap;

    public PhaseMeter(Participants participants) => _participants = participants;

    public TimeSpan Elapsed => _wall.Elapsed;

    public async Task StartAsync()
    {
        ProcStats.ResetPeakRss(Environment.ProcessId);
        ProcStats.ResetPeakRss(_participants.LoadGeneratorPid);
        _maxGcHeap = 0;
        _start = await ReadAsync();
        _wall.Restart();
    }

    /// <summary>
    /// Called now and then during the phase: the GC heap's size is only seen while it is large. Returns the CPU
    /// seconds used so far by this process, the load generator and PostgreSQL.
    /// </summary>
    public (double Bench, double LoadGenerator, double Postgres, double Machine) Sample()
    {
        _maxGcHeap = Math.Max(_maxGcHeap, GC.GetGCMemoryInfo().HeapSizeBytes);
        return (ProcStats.ProcessCpuSeconds(Environment.ProcessId) - _start.BenchCpu,
            ProcStats.ProcessCpuSeconds(_participants.LoadGeneratorPid) - _start.GeneratorCpu,
            ProcStats.ProcessTreeCpuSeconds(_participants.PostmasterPid) - _start.PostgresCpu,
            ProcStats.MachineBusySeconds() - _start.MachineCpu);
    }

    /// <summary>The phase's end, as far as wall time and memory go; database readings follow.</summary>
    public async Task<PhaseCost> StopAsync()
    {
        _wall.Stop();
        Sample();
        var benchPeak = ProcStats.StatusBytes(Environment.ProcessId, "VmHWM");
        var generatorPeak = ProcStats.StatusBytes(_participants.LoadGeneratorPid, "VmHWM");
        var end = await ReadAsync();
        var threads = new Dictionary<string, double>();
        foreach (var (tid, (name, seconds)) in end.Threads)
        {
            var before = _start.Threads.TryGetValue(tid, out var started) ? started.Seconds : 0;
            var group = ThreadGroup(name);
            threads[group] = threads.GetValueOrDefault(group) + (seconds - before);
        }
        var accounted = threads.Values.Sum();
        threads["(threads that exited)"] = Math.Max(0, end.BenchCpu - _start.BenchCpu - accounted);

        return new PhaseCost(
            _wall.Elapsed,
            end.BenchCpu - _start.BenchCpu,
            end.GeneratorCpu - _start.GeneratorCpu,
            end.PostgresCpu - _start.PostgresCpu,
            Math.Max(0, end.MachineCpu - _start.MachineCpu
                - (end.BenchCpu - _start.BenchCpu) - (end.GeneratorCpu - _start.GeneratorCpu) - (end.PostgresCpu - _start.PostgresCpu)),
            threads.Where(t => t.Value >= 0.05).OrderByDescending(t => t.Value).Select(t => (t.Key, t.Value)).ToList(),
            benchPeak,
            generatorPeak,
            end.PostgresRss,
            end.Gen0 - _start.Gen0,
            end.Gen1 - _start.Gen1,
            end.Gen2 - _start.Gen2,
            end.GcPause - _start.GcPause,
            _maxGcHeap,
            end.Wal.Bytes - _start.Wal.Bytes,
            end.Wal.Syncs - _start.Wal.Syncs,
            end.Wal.FullPageImages - _start.Wal.FullPageImages,
            end.Wal.Checkpoints - _start.Wal.Checkpoints);
    }

    private static string ThreadGroup(string name) => name switch
    {
        _ when name.StartsWith("rdk:", StringComparison.Ordinal) => "librdkafka client threads",
        ".NET TP Worker" or ".NET ThreadPool" => "thread pool (consumer loop after its first await, Npgsql)",
        ".NET Long Running" or ".NET Long Runni" => "consumer loop thread (LongRunning)",
        _ when name.Contains("GC", StringComparison.Ordinal) => "GC threads",
        _ => $"other ({name})",
    };

    private async Task<Reading> ReadAsync()
    {
        var pg = await PostgresStats.ReadAsync(_participants.PostgresAdminConnectionString);
        return new Reading(
            ProcStats.ProcessCpuSeconds(Environment.ProcessId),
            ProcStats.ProcessCpuSeconds(_participants.LoadGeneratorPid),
            ProcStats.ProcessTreeCpuSeconds(_participants.PostmasterPid),
            ProcStats.MachineBusySeconds(),
            PostgresRss(),
            ProcStats.ThreadCpuSeconds(),
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            // (No allocated-bytes figure: GC.GetTotalAllocatedBytes goes backwards under server GC's DATAS in
            // this runtime, dotnet/runtime#131069, and gave negative deltas here.)
            GC.GetTotalPauseDuration(),
            pg);
    }

    // Shared buffers are counted in every backend's RSS; the sum overstates, so report the largest single process.
    private long PostgresRss()
    {
        long largest = ProcStats.StatusBytes(_participants.PostmasterPid, "VmRSS");
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory);
            if (name.Length > 0 && char.IsAsciiDigit(name[0]) && ProcStats.ReadStat(Path.Combine(directory, "stat")) is { } stat
                && stat.ParentId == _participants.PostmasterPid)
            {
                try
                {
                    largest = Math.Max(largest, ProcStats.StatusBytes(int.Parse(name, System.Globalization.CultureInfo.InvariantCulture), "VmRSS"));
                }
                catch (IOException)
                {
                    // exited meanwhile
                }
            }
        }
        return largest;
    }

    private sealed record Reading(
        double BenchCpu,
        double GeneratorCpu,
        double PostgresCpu,
        double MachineCpu,
        long PostgresRss,
        Dictionary<int, (string Name, double Seconds)> Threads,
        int Gen0,
        int Gen1,
        int Gen2,
        TimeSpan GcPause,
        PostgresStats Wal);
}

/// <summary>Server-wide WAL and checkpoint counters.</summary>
internal sealed record PostgresStats(long Bytes, long Syncs, long FullPageImages, long Checkpoints)
{
    public static async Task<PostgresStats> ReadAsync(string adminConnectionString)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint,
                   (select wal_sync + 0 from pg_stat_wal),
                   (select wal_fpi + 0 from pg_stat_wal),
                   (select checkpoints_timed + checkpoints_req from pg_stat_bgwriter)
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new PostgresStats(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }
}

internal static class GcMode
{
    public static string Describe() =>
        $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC, {GCSettings.LatencyMode}";
}
