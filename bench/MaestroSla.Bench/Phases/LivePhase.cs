using System.Diagnostics;
using MaestroSla.Api.Alerts;
using MaestroSla.Api.Hosting;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Measuring;
using MaestroSla.Bench.Service;
using MaestroSla.Bench.Traffic;
using MaestroSla.Ingest.Storage;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Marten.Events;
using Npgsql;

namespace MaestroSla.Bench.Phases;

/// <summary>One rate held for the step's duration.</summary>
internal sealed record LiveStep(
    double TargetRate,
    double AchievedRate,
    long Messages,
    TimeSpan ProducerMaxBehind,
    TimeSpan MaxProjectionLag,
    TimeSpan MaxConsumerLag,
    TimeSpan MaxIngestDelay,
    int Writes,
    long LostInput,
    long NotStored,
    QueryLatencies? Reports,
    double ServiceCores,
    double PostgresCores,
    double LoadGeneratorCores,
    double OtherCores,
    long ServiceRssBytes,
    string? Failure)
{
    public bool Sustained => Failure is null;

    public double PostgresShare => PostgresCores / Math.Max(1e-9, ServiceCores + PostgresCores + LoadGeneratorCores + OtherCores);
}

/// <summary>Steps at one cardinality, and what the database holds afterwards.</summary>
internal sealed record LiveOutcome(
    int Series, int Services, int EndpointsPerService, int ProjectionNodes, IReadOnlyList<LiveStep> Steps,
    long Produced, long ErrorsProduced, long Stored, long ErrorsStored, long Events, long RequestEvents,
    long EventBytes, long RollupBytes, long ServicePeakRssBytes, double AverageMessageBytes, IReadOnlyList<string> Problems,
    QueryLatencies? QuietReports, int CustomersPerService = 0, long CustomerEvents = 0)
{
    public LiveStep? Best => Steps.Where(s => s.Sustained).MaxBy(s => s.TargetRate);

    public LiveStep? FirstFailure => Steps.FirstOrDefault(s => !s.Sustained);

    public bool Verified => Problems.Count == 0;
}

/// <summary>
/// Live steady load: a paced producer publishes requests stamped "now" over S series, keyed by service, into the
/// mock broker; the MaestroSla service (src/Api as a child process: TelemetryConsumer holding open minutes, durable
/// PostgreSQL, the async daemon) ingests and projects them. Rates are stepped up until one is not sustained.
/// </summary>
/// <remarks>
/// A step is sustained when, over its whole duration: the producer kept the pace (≥ 97 % of the rate), the
/// projections' lag stayed ≤ <see cref="BenchOptions.LiveMaxLagSeconds"/> — the age of the oldest stored event the
/// latency rollups have not applied yet (<see cref="ProjectionLag"/>, sampled every second) — the consumer's lag at
/// each stored batch stayed within the same bound (messages produced by the commit's time minus the partitions'
/// stored next offsets, in seconds of traffic), and the broker dropped nothing unread. On top of the projection lag
/// comes the hold by design: a minute is stored once it has ended plus Kafka:OpenMinuteGrace.
/// </remarks>
internal static class LivePhase
{
    public static async Task<LiveOutcome> RunAsync(
        BenchOptions options, BenchEnvironment environment, int series, int projectionNodes, string logDirectory, CancellationToken ct)
    {
        var problems = new List<string>();
        var (services, endpoints) = LiveTraffic.Split(series);
        var name = $"live_{series}_{projectionNodes}n";
        var topic = $"live.{series}.{projectionNodes}n";
        await environment.LoadGenerator.CreateTopicAsync(topic, ct, options.Partitions);
        var connectionString = await environment.CreateDatabaseAsync(name);
        var clock = Stopwatch.StartNew();
        var settings = ServiceSettings(options, environment, connectionString, topic);

        await using var service = ApiProcess.Start($"{name}-node1", settings, logDirectory, clock);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await service.WaitHealthyAsync(http, TimeSpan.FromMinutes(2), ct);
        var others = new List<ApiProcess>();
        for (var node = 2; node <= projectionNodes; node++)
        {
            // Projection nodes only: no consumer, the same daemon mode.
            var projectionSettings = new Dictionary<string, string>(settings) { ["Kafka:ConsumerEnabled"] = "false" };
            var other = ApiProcess.Start($"{name}-node{node}", projectionSettings, logDirectory, clock);
            others.Add(other);
            await other.WaitHealthyAsync(http, TimeSpan.FromMinutes(2), ct);
        }
        try
        {
            await WaitForPartitionsAsync(service, options.Partitions, ct);
            Console.WriteLine($"  {series:N0} series ({services} services × {endpoints} endpoints), service pid {service.ProcessId}{(others.Count > 0 ? " + projection node(s) " + string.Join(", ", others.Select(o => o.ProcessId)) : "")}, consumer holds all {options.Partitions} partitions after {clock.Elapsed.TotalSeconds:0.0} s");

            await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString, options.RollupShards));
            var steps = new List<LiveStep>();
            long produced = 0, errors = 0;
            double averageBytes = 0;
            long peakRss = 0;
            foreach (var rate in options.LiveRates)
            {
                var step = await RunStepAsync(options, environment, store, connectionString, service, others, topic, series, services, rate, produced, ct);
                steps.Add(step.Step);
                produced += step.Report.Messages;
                errors += step.Report.ErrorRequests;
                averageBytes = step.Report.AverageBytes;
                peakRss = Math.Max(peakRss, service.PeakRssBytes());
                Console.WriteLine(Describe(step.Step));
                if (!step.Step.Sustained)
                {
                    break;
                }
            }

            // A graceful stop stores the minutes still held; then the bench's own daemon brings the rollups up to date,
            // so that their size covers every request.
            peakRss = Math.Max(peakRss, service.PeakRssBytes());
            // The consumer reads within a second of the producer (see the consumer lag): let it read the last messages.
            await Task.Delay(5000, ct);
            foreach (var other in others)
            {
                await other.StopAsync(TimeSpan.FromMinutes(1));
            }
            await service.StopAsync(TimeSpan.FromMinutes(2));
            if (service.LostInput > 0)
            {
                problems.Add($"the broker dropped unread input {service.LostInput} time(s) (see {service.LogPath})");
            }
            await CatchUpProjectionsAsync(store, ct);
            // The same reports once the load has ended and the rollups are caught up: the cost of a report at this
            // cardinality, apart from the cores the load generator and the service were taking during the steps.
            var quietReports = await MeasureReportsAsync(store, services, options.LiveReportQueries, options.Seed, ct);
            var totals = await TotalsAsync(connectionString, ct);
            if (totals.Requests != produced)
            {
                problems.Add($"stored requests {totals.Requests:N0} != produced {produced:N0}");
            }
            if (totals.Errors != errors)
            {
                problems.Add($"stored errors {totals.Errors:N0} != produced {errors:N0}");
            }
            // Every request names a customer when there are any: the customers' events hold them all once more.
            var customers = await CustomerTotalsAsync(connectionString, ct);
            // Past the default customer limit, the rest of a service's customers are one: "(other)".
            var customersStored = options.LiveCustomers <= SeriesCatalog.DefaultCustomerLimit ? options.LiveCustomers : SeriesCatalog.DefaultCustomerLimit + 1;
            var expected = options.LiveCustomers > 0 ? (produced, errors, customersStored * (long)services) : (0L, 0L, 0L);
            if ((customers.Requests, customers.Errors, customers.Customers) != expected)
            {
                problems.Add($"stored per customer: {customers.Requests:N0} requests, {customers.Errors:N0} errors, {customers.Customers:N0} (service, customer) != {expected}");
            }
            return new LiveOutcome(series, services, endpoints, projectionNodes, steps, produced, errors, totals.Requests, totals.Errors,
                totals.Events, totals.RequestEvents, totals.EventBytes, totals.RollupBytes, peakRss, averageBytes, problems,
                quietReports, options.LiveCustomers, customers.Events);
        }
        finally
        {
            foreach (var other in others)
            {
                await other.DisposeAsync();
            }
        }
    }

    public static Dictionary<string, string> ServiceSettings(BenchOptions options, BenchEnvironment environment, string connectionString, string topic)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Marten"] = connectionString,
            ["Kafka:BootstrapServers"] = environment.LoadGenerator.BootstrapServers,
            ["Kafka:Topic"] = topic,
            ["Kafka:GroupId"] = "maestrosla-bench-live",
            ["Kafka:FlushInterval"] = TimeSpan.FromMilliseconds(options.FlushIntervalMs).ToString("c"),
            ["Kafka:MaxBatchMessages"] = options.MaxBatchMessages.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Projections:Daemon"] = "HotCold",
            ["Projections:RollupShards"] = options.RollupShards.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // The benchmark posts as fast as it can from one address; the report cache would hide the builder's cost.
            ["Security:RateLimit:Enabled"] = "false",
            ["Caching:WarmOnStart"] = "false",
        };
        foreach (var (key, value) in options.ConsumerConfig)
        {
            settings[$"Kafka:Client:{key}"] = value;
        }
        return settings;
    }

    public static async Task WaitForPartitionsAsync(ApiProcess service, int partitions, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        while (service.CurrentPartitions().Count < partitions)
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"{service.Name} was not assigned all {partitions} partitions within 2 minutes; log: {service.LogPath}");
            }
            await Task.Delay(100, ct);
        }
    }

    private static async Task<(LiveStep Step, Kafka.PaceReport Report)> RunStepAsync(
        BenchOptions options, BenchEnvironment environment, DocumentStore store, string connectionString, ApiProcess service,
        List<ApiProcess> others, string topic, int series, int services, double rate, long producedBefore, CancellationToken ct)
    {
        var seconds = options.LiveStepSeconds;
        var lostBefore = service.LostInput;
        var notStoredBefore = service.NotStored;
        var cpuBefore = Cpu(environment, service, others);
        using var stopSampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampling = SampleAsync(store, stopSampling.Token);
        // 200 reports of random services over the current day, in the step's last part, while the load goes on.
        var reports = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds * 0.7), ct);
            return await MeasureReportsAsync(store, services, options.LiveReportQueries, options.Seed, ct);
        }, ct);

        var report = await environment.LoadGenerator.PaceAsync(topic, producedBefore, rate, seconds, series, ct);
        var reportLatencies = await reports;
        var cpuAfter = Cpu(environment, service, others);
        await stopSampling.CancelAsync();
        var samples = await sampling;

        var wall = report.Elapsed.TotalSeconds;
        var stepStart = report.StartedAt;
        var stepEnd = stepStart + report.Elapsed;
        var maxProjectionLag = samples.Count == 0 ? TimeSpan.MaxValue : samples.Max(s => s.ProjectionLag);

        // The consumer's lag at each stored batch: what had been produced by the commit minus what the rows say was read.
        var writes = await WritesAsync(connectionString, topic, stepStart, stepEnd, ct);
        var maxConsumerLag = TimeSpan.Zero;
        foreach (var (at, nextOffsets) in writes)
        {
            var producedByThen = producedBefore + Math.Min(report.Messages, rate * (at - stepStart).TotalSeconds);
            maxConsumerLag = TimeSpan.FromSeconds(Math.Max(maxConsumerLag.TotalSeconds, (producedByThen - nextOffsets) / rate));
        }
        var ingestDelay = await MaxIngestDelayAsync(connectionString, stepStart, stepEnd, ct);

        var lost = service.LostInput - lostBefore;
        string? failure = null;
        var bound = TimeSpan.FromSeconds(options.LiveMaxLagSeconds);
        if (report.Undelivered > 0)
        {
            failure = $"{report.Undelivered:N0} messages still undelivered when the producer gave up flushing";
        }
        else if (report.Rate < 0.97 * rate)
        {
            failure = $"producer reached only {report.Rate:N0}/s (the load generator shares the cores)";
        }
        else if (lost > 0)
        {
            failure = "the broker dropped input the consumer had not read (consumer > ~5 MiB behind on a partition)";
        }
        else if (maxProjectionLag > bound)
        {
            failure = $"projection lag {maxProjectionLag.TotalSeconds:0.0} s > {bound.TotalSeconds:0} s";
        }
        else if (maxConsumerLag > bound)
        {
            failure = $"consumer lag {maxConsumerLag.TotalSeconds:0.0} s > {bound.TotalSeconds:0} s";
        }
        else if (writes.Count == 0)
        {
            failure = "nothing stored during the step (a minute is stored 60 s + Kafka:OpenMinuteGrace after it starts: use --live-seconds ≥ 75)";
        }
        var cpu = (Service: cpuAfter.Service - cpuBefore.Service, Postgres: cpuAfter.Postgres - cpuBefore.Postgres,
            Generator: cpuAfter.Generator - cpuBefore.Generator, Machine: cpuAfter.Machine - cpuBefore.Machine);
        var step = new LiveStep(
            rate, report.Rate, report.Messages, report.MaxBehind, maxProjectionLag, maxConsumerLag, ingestDelay, writes.Count, lost,
            service.NotStored - notStoredBefore, reportLatencies,
            cpu.Service / wall, cpu.Postgres / wall, cpu.Generator / wall,
            Math.Max(0, cpu.Machine - cpu.Service - cpu.Postgres - cpu.Generator) / wall,
            service.RssBytes(), failure);
        return (step, report);
    }

    public static string Describe(LiveStep step) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"  {step.TargetRate,9:N0}/s: produced {step.AchievedRate,9:N0}/s, projection lag ≤ {Seconds(step.MaxProjectionLag)}, consumer lag ≤ {Seconds(step.MaxConsumerLag)}, minute end → stored ≤ {Seconds(step.MaxIngestDelay)} ({step.Writes} writes), reports p99 {step.Reports?.P99Ms:0.0} ms; cores: service {step.ServiceCores:0.00} postgres {step.PostgresCores:0.00} load-gen {step.LoadGeneratorCores:0.00} others {step.OtherCores:0.00}; RSS {step.ServiceRssBytes / 1048576.0:N0} MiB → {(step.Sustained ? "sustained" : "NOT sustained: " + step.Failure)}");

    private static string Seconds(TimeSpan span) => span == TimeSpan.MaxValue ? "?" : span.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

    private static (double Service, double Postgres, double Generator, double Machine) Cpu(
        BenchEnvironment environment, ApiProcess service, List<ApiProcess> others) =>
        (service.CpuSeconds() + others.Sum(o => o.CpuSeconds()),
         ProcStats.ProcessTreeCpuSeconds(environment.Participants.PostmasterPid),
         ProcStats.ProcessCpuSeconds(environment.Participants.LoadGeneratorPid),
         ProcStats.MachineBusySeconds());

    private sealed record Sample(TimeSpan ProjectionLag);

    private static async Task<List<Sample>> SampleAsync(DocumentStore store, CancellationToken ct)
    {
        var samples = new List<Sample>();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await using (var session = store.QuerySession())
                {
                    samples.Add(new Sample(await ProjectionLag.OfLatencyRollupsAsync(session, ct)));
                }
                await Task.Delay(1000, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        return samples;
    }

    /// <summary>Each stored batch of the step: its commit time and the sum of the partitions' next offsets after it.</summary>
    private static async Task<List<(DateTimeOffset At, long NextOffsets)>> WritesAsync(
        string connectionString, string topic, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        // The history holds every advance of every partition; a batch's advances share its transaction's now().
        // Per commit, the sum over all partitions of the latest next offset stored at or before it.
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            with commits as (select distinct committed_at from {MaestroStore.Schema}.kafka_offset_history
                             where topic = $1 and committed_at between $2 and $3)
            select c.committed_at,
                   (select coalesce(sum(h.next_offset), 0)::bigint from (
                        select distinct on (partition) next_offset from {MaestroStore.Schema}.kafka_offset_history
                        where topic = $1 and committed_at <= c.committed_at order by partition, committed_at desc) h)
            from commits c order by 1
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        var writes = new List<(DateTimeOffset, long)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            writes.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1)));
        }
        return writes;
    }

    /// <summary>Over the request events stored during the step: the longest time from a minute's end to its event's commit.</summary>
    private static async Task<TimeSpan> MaxIngestDelayAsync(string connectionString, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select coalesce(extract(epoch from max(e.timestamp - ((m->>'Minute')::timestamptz + interval '1 minute'))), 0)::float8
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded' and e.timestamp between $1 and $2
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        return TimeSpan.FromSeconds((double)(await command.ExecuteScalarAsync(ct))!);
    }

    /// <summary>Uncached SLA reports (SlaReportBuilder, as the API calls it on a cache miss) of random services over the current UTC day.</summary>
    public static async Task<QueryLatencies> MeasureReportsAsync(DocumentStore store, int services, int queries, int seed, CancellationToken ct)
    {
        var sla = new SlaOptions();
        var random = new Random(seed);
        // Untimed first: JIT and the connection pool of this process are not what is measured.
        for (var i = 0; i < 20; i++)
        {
            await using var session = store.QuerySession();
            var now = DateTimeOffset.UtcNow;
            await SlaReportBuilder.BuildAsync(session, sla, $"svc-{random.Next(services):00000}", now.AddHours(-1), now, "UTC", null, ct);
        }
        var elapsed = new double[queries];
        var gen2Before = GC.CollectionCount(2);
        var pauseBefore = GC.GetTotalPauseDuration();
        var jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = System.Runtime.JitInfo.GetCompilationTime();
        for (var i = 0; i < queries; i++)
        {
            var now = DateTimeOffset.UtcNow;
            var to = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMinute) + TimeSpan.TicksPerMinute, TimeSpan.Zero);
            var from = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
            var service = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"svc-{random.Next(services):00000}");
            var started = Stopwatch.GetTimestamp();
            await using var session = store.QuerySession();
            await SlaReportBuilder.BuildAsync(session, sla, service, from, to, "UTC", null, ct);
            elapsed[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        Array.Sort(elapsed);
        return new QueryLatencies(queries, 0, Percentile(elapsed, 50), Percentile(elapsed, 99), elapsed[^1], elapsed.Average(),
            GC.CollectionCount(2) - gen2Before, GC.GetTotalPauseDuration() - pauseBefore,
            System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore, System.Runtime.JitInfo.GetCompilationTime() - jitTimeBefore);
    }

    private static double Percentile(double[] sorted, double percentile) =>
        sorted[Math.Max(0, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];

    private static async Task CatchUpProjectionsAsync(DocumentStore store, CancellationToken ct)
    {
        using var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromMinutes(10));
        await daemon.StopAllAsync();
    }

    private static async Task<(long Events, long Requests, long Errors, long Customers)> CustomerTotalsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select (select count(*) from {MaestroStore.Schema}.mt_events where type = 'customer_requests_recorded'),
                   coalesce(sum((m->>'Requests')::bigint), 0)::bigint,
                   coalesce(sum((m->>'Errors')::bigint), 0)::bigint,
                   count(distinct (e.data->>'Service', e.data->>'Customer'))
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'customer_requests_recorded'
            """, connection) { CommandTimeout = 600 };
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private static async Task<(long Events, long RequestEvents, long Requests, long Errors, long EventBytes, long RollupBytes)> TotalsAsync(
        string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select (select count(*) from {MaestroStore.Schema}.mt_events),
                   (select count(*) from {MaestroStore.Schema}.mt_events where type = 'requests_recorded'),
                   coalesce(sum((m->>'Requests')::bigint), 0)::bigint,
                   coalesce(sum((m->>'Errors')::bigint), 0)::bigint,
                   pg_total_relation_size('{MaestroStore.Schema}.mt_events'),
                   pg_total_relation_size('{MaestroStore.Schema}.mt_doc_latencyrollup') + pg_total_relation_size('{MaestroStore.Schema}.mt_doc_minuterollups')
            from {MaestroStore.Schema}.mt_events e cross join lateral jsonb_array_elements(e.data->'Minutes') m
            where e.type = 'requests_recorded'
            """, connection) { CommandTimeout = 600 };
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5));
    }
}
