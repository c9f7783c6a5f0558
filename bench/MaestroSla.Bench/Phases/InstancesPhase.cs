using System.Diagnostics;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Service;
using MaestroSla.Bench.Traffic;
using Npgsql;

namespace MaestroSla.Bench.Phases;

internal sealed record InstancesOutcome(
    int Instances, double Rate, int Series, long Produced, long Stored, long Batches, long NotStored, long Collisions, long LostInput,
    int VictimPartitions, TimeSpan? Reassigned, TimeSpan? StoredAgain, TimeSpan NextMinuteStore, TimeSpan SessionTimeout,
    IReadOnlyList<string> Problems)
{
    public bool Verified => Problems.Count == 0;
}

/// <summary>
/// Several ingest processes (src/Api with the consumer on and projections off) in one consumer group under the same
/// paced live load; a third of the way in, one is SIGKILLed. Counts batches rolled back ("not stored" warnings) and
/// stream-version collisions in every process's log, and times the takeover: until the group hands the killed
/// process's partitions to the survivors, and until those partitions are stored again.
/// </summary>
internal static class InstancesPhase
{
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(6);

    public static async Task<InstancesOutcome> RunAsync(BenchOptions options, BenchEnvironment environment, int instances, string logDirectory, CancellationToken ct)
    {
        var problems = new List<string>();
        var topic = $"instances.{instances}";
        await environment.LoadGenerator.CreateTopicAsync(topic, ct, options.Partitions);
        var connectionString = await environment.CreateDatabaseAsync($"instances_{instances}");
        var clock = Stopwatch.StartNew();
        var settings = LivePhase.ServiceSettings(options, environment, connectionString, topic);
        settings["Kafka:GroupId"] = "maestrosla-bench-instances";
        settings["Projections:Daemon"] = "Disabled";
        // librdkafka's default session timeout is 45 s: a killed member's partitions would wait that long.
        settings.TryAdd("Kafka:Client:session.timeout.ms", ((int)SessionTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        settings.TryAdd("Kafka:Client:heartbeat.interval.ms", "1000");

        var processes = new List<ApiProcess>();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            for (var i = 1; i <= instances; i++)
            {
                var process = ApiProcess.Start($"instances{instances}-{i}", settings, logDirectory, clock);
                processes.Add(process);
                await process.WaitHealthyAsync(http, TimeSpan.FromMinutes(2), ct);
            }
            await WaitForSettledGroupAsync(processes, options.Partitions, ct);
            Console.WriteLine($"  {instances} ingest processes share {options.Partitions} partitions: {string.Join(" / ", processes.Select(p => p.CurrentPartitions().Count))} after {clock.Elapsed.TotalSeconds:0.0} s");

            var pacing = environment.LoadGenerator.PaceAsync(topic, 0, options.InstancesRate, options.InstancesSeconds, options.InstancesSeries, ct);
            await Task.Delay(TimeSpan.FromSeconds(options.InstancesSeconds / 3), ct);
            // Kill once the process to be killed has stored a minute: then it holds minutes in memory and rows that
            // say where a takeover reads again from.
            var victim = processes[^1];
            while (!pacing.IsCompleted && !(await PartitionsWithRowsAsync(connectionString, topic, DateTimeOffset.MaxValue, ct)).Overlaps(victim.CurrentPartitions()))
            {
                await Task.Delay(500, ct);
            }

            var victimPartitions = victim.CurrentPartitions();
            var killedAt = clock.Elapsed;
            var killedWall = DateTimeOffset.UtcNow;
            victim.Kill();
            var now = DateTimeOffset.UtcNow;
            // The consumer stores a minute once it has ended plus the grace (10 s): the earliest a moved partition can be stored again.
            var nextMinuteStore = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(1).AddSeconds(10) - now;
            // Partitions no service hashes to carry no traffic and have no row: only the others are stored again.
            victimPartitions.IntersectWith(await PartitionsWithRowsAsync(connectionString, topic, killedWall, ct));
            Console.WriteLine($"  SIGKILLed {victim.Name} (pid {victim.ProcessId}) holding {victimPartitions.Count} partitions with traffic, at t={killedAt.TotalSeconds:0.0} s");

            var survivors = processes.Take(processes.Count - 1).ToList();
            TimeSpan? reassigned = null, storedAgain = null;
            var deadline = Stopwatch.StartNew();
            while (victimPartitions.Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(options.InstancesSeconds + 100) && (reassigned is null || storedAgain is null))
            {
                if (reassigned is null && victimPartitions.All(p => survivors.Any(s => s.CurrentPartitions().Contains(p))))
                {
                    var at = survivors.SelectMany(s => s.Assignments).Where(a => a.Kind == "Assigned" && a.At > killedAt && a.Partitions.Any(victimPartitions.Contains)).Select(a => a.At).DefaultIfEmpty(clock.Elapsed).Max();
                    reassigned = at - killedAt;
                }
                if (storedAgain is null && await AllStoredSinceAsync(connectionString, topic, victimPartitions, killedWall, ct))
                {
                    storedAgain = clock.Elapsed - killedAt;
                }
                await Task.Delay(200, ct);
            }

            var paced = await pacing;
            // The consumers read within a second of the producer; a graceful stop stores what each still holds —
            // except partitions a survivor is still reading again after the takeover, which the rows keep for the next owner.
            await Task.Delay(5000, ct);
            foreach (var survivor in survivors)
            {
                await survivor.StopAsync(TimeSpan.FromMinutes(2));
            }
            var (stored, batches) = await StoredAsync(connectionString, topic, ct);
            if (stored < paced.Messages)
            {
                // That next owner: one fresh process resumes every partition from its row and stores the rest.
                Console.WriteLine($"  {paced.Messages - stored:N0} requests still in Kafka past the stored rows: a fresh process resumes them");
                var next = ApiProcess.Start($"instances{instances}-resume", settings, logDirectory, clock);
                processes.Add(next);
                await next.WaitHealthyAsync(http, TimeSpan.FromMinutes(2), ct);
                var waited = Stopwatch.StartNew();
                while (stored < paced.Messages && waited.Elapsed < TimeSpan.FromSeconds(150))
                {
                    await Task.Delay(1000, ct);
                    (stored, batches) = await StoredAsync(connectionString, topic, ct);
                }
                await next.StopAsync(TimeSpan.FromMinutes(2));
                (stored, batches) = await StoredAsync(connectionString, topic, ct);
            }
            if (stored != paced.Messages)
            {
                problems.Add($"stored requests {stored:N0} != produced {paced.Messages:N0}");
            }
            var collisions = processes.Sum(p => p.Collisions);
            var lost = processes.Sum(p => p.LostInput);
            if (lost > 0)
            {
                problems.Add($"the broker dropped input before it was read again {lost} time(s): lower --instances-rate");
            }
            if (reassigned is null || storedAgain is null)
            {
                problems.Add("the killed process's partitions were not taken over within the run");
            }
            return new InstancesOutcome(instances, paced.Rate, options.InstancesSeries, paced.Messages, stored, batches,
                processes.Sum(p => p.NotStored), collisions, lost, victimPartitions.Count, reassigned, storedAgain, nextMinuteStore,
                SessionTimeout, problems);
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }
    }

    /// <summary>Until every partition has an owner, every process has some, and nothing has moved for 3 s.</summary>
    private static async Task WaitForSettledGroupAsync(List<ApiProcess> processes, int partitions, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var stable = Stopwatch.StartNew();
        var last = "";
        while (true)
        {
            var held = processes.Select(p => p.CurrentPartitions()).ToList();
            var shape = string.Join("/", held.Select(h => h.Count));
            if (shape != last)
            {
                last = shape;
                stable.Restart();
            }
            if (held.Sum(h => h.Count) == partitions && held.All(h => h.Count > 0) && stable.Elapsed > TimeSpan.FromSeconds(3))
            {
                return;
            }
            if (waited.Elapsed > TimeSpan.FromMinutes(3))
            {
                throw new TimeoutException($"The group did not settle within 3 minutes ({shape})");
            }
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Partitions with a row committed before <paramref name="before"/>.</summary>
    private static async Task<HashSet<int>> PartitionsWithRowsAsync(string connectionString, string topic, DateTimeOffset before, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"select distinct partition from {MaestroStore.Schema}.kafka_offset_history where topic = $1 and committed_at < $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = before == DateTimeOffset.MaxValue ? DateTimeOffset.UtcNow.AddYears(1) : before });
        var partitions = new HashSet<int>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            partitions.Add(reader.GetInt32(0));
        }
        return partitions;
    }

    private static async Task<bool> AllStoredSinceAsync(string connectionString, string topic, HashSet<int> partitions, DateTimeOffset since, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"select count(distinct partition) from {MaestroStore.Schema}.kafka_offset_history where topic = $1 and committed_at > $2 and partition = any($3)",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = since });
        command.Parameters.Add(new NpgsqlParameter { Value = partitions.ToArray() });
        return (long)(await command.ExecuteScalarAsync(ct))! >= partitions.Count;
    }

    private static async Task<(long Requests, long Batches)> StoredAsync(string connectionString, string topic, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select coalesce(sum((m->>'Requests')::bigint), 0)::bigint,
                   (select count(distinct committed_at) from {MaestroStore.Schema}.kafka_offset_history where topic = $1)
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded'
            """, connection) { CommandTimeout = 600 };
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <summary>The series split the load uses, for the report.</summary>
    public static string Shape(int series)
    {
        var (services, endpoints) = LiveTraffic.Split(series);
        return $"{series:N0} series ({services} services × {endpoints} endpoints)";
    }
}
