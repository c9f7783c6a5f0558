using System.Diagnostics;
using System.Runtime;
using System.Text.Json;
using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Bench.Measuring;
using MaestroSla.Bench.Traffic;
using MaestroSla.Contracts.Reports;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Npgsql;

namespace MaestroSla.Bench.Phases;

internal sealed record QueryLatencies(
    int Queries, int Warmup, double P50Ms, double P99Ms, double MaxMs, double MeanMs, int Gen2Collections, TimeSpan GcPause,
    long JitMethods, TimeSpan JitTime, double PostgresCores = 0, double LoadGeneratorCores = 0, double ClientCpuMsPerQuery = 0);

internal sealed record MonthOutcome(
    DateTimeOffset Month, int Services, int Endpoints, long Requests, long Errors, long Events, long EventJsonBytes,
    TimeSpan Stored, TimeSpan Projected, long RollupDocuments,
    QueryLatencies EarlyReports,
    QueryLatencies Reports,
    TimeSpan BackupDuration, long BackupBytes,
    TimeSpan RestoreDuration, TimeSpan ReplayDuration, TimeSpan RebuildDuration,
    IReadOnlyList<string> Problems,
    BackupCryptoCost? Crypto = null)
{
    public bool Verified => Problems.Count == 0;
}

/// <summary>
/// A month of many services' telemetry stored as ingest stores it, projected by the async daemon, then: SLA report
/// latency over many queries, a full backup to a folder, and a restore of that backup into an empty database
/// (verify, replay, rebuild) — the "month restored" figure.
/// </summary>
/// <summary>The same backup, validation and restore, plaintext and then sealed + signed.</summary>
internal sealed record BackupCryptoCost(
    TimeSpan PlainBackup, TimeSpan PlainValidate, TimeSpan PlainRestoreChecksAndReplay, TimeSpan PlainRestore,
    TimeSpan SealedBackup, TimeSpan SealedValidate, TimeSpan SealedRestoreChecksAndReplay, TimeSpan SealedRestore,
    long PlainBytes, long SealedBytes);

internal static class MonthPhase
{
    public static async Task<MonthOutcome> RunAsync(BenchOptions options, BenchEnvironment environment, DateTimeOffset now, CancellationToken ct)
    {
        var problems = new List<string>();
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1);
        var data = new SyntheticServiceMonth(month, options.MonthServices, options.EndpointsPerService, options.MonthRequests, options.Seed);
        var connectionString = await environment.CreateDatabaseAsync("maestrosla_month");
        await using var store = new DocumentStore(
            MaestroStore.Configure(new StoreOptions(), connectionString, options.RollupShards).WithRebuildPages(new BackupOptions().RebuildBatchSize));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();

        // Stored as ingest stores it: one IngestBatch and one transaction per hour of traffic.
        var clock = Stopwatch.StartNew();
        var writer = new IngestBatchWriter(store);
        var batch = new IngestBatch();
        for (var hour = 0; hour < data.Hours; hour++)
        {
            data.AddHour(hour, batch);
            await writer.WriteAsync(batch, ct);
            batch.Clear();
            if (hour % 96 == 95)
            {
                Console.WriteLine($"  stored {hour + 1} of {data.Hours} hours, {data.Requests:N0} requests, {clock.Elapsed.TotalSeconds:0} s");
            }
        }
        var stored = clock.Elapsed;
        var (events, jsonBytes, storedRequests) = await EventTotalsAsync(connectionString, ct);
        Console.WriteLine($"  {data.Requests:N0} requests of {data.Services.Count} services → {events:N0} events in {stored.TotalSeconds:0.0} s");
        if (storedRequests != data.Requests)
        {
            problems.Add($"stored requests {storedRequests:N0} != generated {data.Requests:N0}");
        }

        await CompareRollupShardsAsync(options, connectionString, events, ct);
        clock.Restart();
        await ProjectionRebuild.RunAsync(store, TimeSpan.FromMinutes(30), _ => { }, ct);
        var projected = clock.Elapsed;
        var rollups = await RollupDocumentsAsync(connectionString, ct);
        Console.WriteLine($"  projected by the async daemon in {projected.TotalSeconds:0.0} s: {events / projected.TotalSeconds:N0} events/s, {rollups:N0} rollup documents");

        // A month-old database has long been vacuumed and analysed; right after the bulk load autovacuum would do it
        // while the reports are timed, on the same two cores.
        clock.Restart();
        await VacuumAnalyzeAsync(connectionString, ct);
        Console.WriteLine($"  vacuum analyze: {clock.Elapsed.TotalSeconds:0.0} s");

        var (earlyReports, reports) = await MeasureReportsAsync(store, environment.Participants, data, options.ReportQueries, problems, ct);
        foreach (var (window, figures) in new[] { ("early", earlyReports), ("steady", reports) })
        {
            Console.WriteLine($"  {figures.Queries:N0} reports ({window}, after {figures.Warmup:N0}): p50 {figures.P50Ms:0.00} ms, p99 {figures.P99Ms:0.00} ms, max {figures.MaxMs:0.00} ms; {figures.Gen2Collections} gen-2 GCs, {figures.GcPause.TotalMilliseconds:0} ms GC pause, JIT {figures.JitMethods:N0} methods in {figures.JitTime.TotalMilliseconds:0} ms; CPU per report {figures.ClientCpuMsPerQuery:0.00} ms here, PostgreSQL {figures.PostgresCores:0.00} cores, load generator {figures.LoadGeneratorCores:0.00}");
        }

        var folder = Directory.CreateTempSubdirectory("maestrosla-bench-backup-").FullName;
        try
        {
            var target = new FolderBackupTarget(folder);
            var backupOptions = new BackupOptions();
            clock.Restart();
            var backup = await new EventLogBackup(store, target, backupOptions, TimeProvider.System).RunAsync(BackupType.Full, "benchmark", ct);
            var backupDuration = clock.Elapsed;
            Console.WriteLine($"  full backup: {backup.Events:N0} events, {backup.Bytes / 1e6:0.0} MB in {backupDuration.TotalSeconds:0.0} s");
            if (backup.Events != events)
            {
                problems.Add($"backup holds {backup.Events:N0} events, the store {events:N0}");
            }

            var restoredConnectionString = await environment.CreateDatabaseAsync("maestrosla_month_restored");
            var restore = new EventLogRestore(store, target, cs => MaestroStore.Configure(new StoreOptions(), cs, options.RollupShards), backupOptions, TimeProvider.System);
            var run = await restore.RestoreAsync(new RestoreRequest(backup.BackupId, null, restoredConnectionString), "benchmark", ct);
            Console.WriteLine($"  restored in {run.Duration!.Value.TotalSeconds:0.0} s (replay {run.ReplayDuration!.Value.TotalSeconds:0.0} s, projection rebuild {run.RebuildDuration!.Value.TotalSeconds:0.0} s)");
            await using var restored = new DocumentStore(MaestroStore.Configure(new StoreOptions(), restoredConnectionString, options.RollupShards));
            await CompareReportsAsync(store, restored, data, problems, ct);

            BackupCryptoCost? crypto = null;
            if (options.BackupCrypto)
            {
                // Plaintext and sealed backups and validations alternate, best of three each: on a machine shared with
                // other work, runs minutes apart are not comparable.
                var (plainBackup, plainValidate, sealedBackup, sealedValidate) = await AlternateAsync(store, backupOptions.Compression, events, problems, ct);
                crypto = await SealedAsync(store, environment, data, backupOptions.Compression, events, problems, ct) with
                {
                    PlainBackup = plainBackup,
                    PlainValidate = plainValidate,
                    SealedBackup = sealedBackup,
                    SealedValidate = sealedValidate,
                    PlainRestoreChecksAndReplay = run.Duration.Value - run.RebuildDuration.Value,
                    PlainRestore = run.Duration.Value,
                    PlainBytes = backup.Bytes,
                };
                Console.WriteLine($"  sealed + signed: backup {crypto.SealedBackup.TotalSeconds:0.0} s (plain {crypto.PlainBackup.TotalSeconds:0.0}), validate {crypto.SealedValidate.TotalSeconds:0.00} s (plain {crypto.PlainValidate.TotalSeconds:0.00}), restore checks + replay {crypto.SealedRestoreChecksAndReplay.TotalSeconds:0.0} s (plain {crypto.PlainRestoreChecksAndReplay.TotalSeconds:0.0})");
            }

            return new MonthOutcome(
                month, data.Services.Count, options.EndpointsPerService, data.Requests, data.Errors, events, jsonBytes,
                stored, projected, rollups, earlyReports, reports, backupDuration, backup.Bytes,
                run.Duration.Value, run.ReplayDuration.Value, run.RebuildDuration.Value, problems, crypto);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(TimeSpan PlainBackup, TimeSpan PlainValidate, TimeSpan SealedBackup, TimeSpan SealedValidate)> AlternateAsync(
        DocumentStore store, System.IO.Compression.CompressionLevel compression, long events, List<string> problems, CancellationToken ct)
    {
        var best = new[] { TimeSpan.MaxValue, TimeSpan.MaxValue, TimeSpan.MaxValue, TimeSpan.MaxValue };
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        for (var round = 0; round < 3; round++)
        {
            for (var sealed_ = 0; sealed_ < 2; sealed_++)
            {
                var folder = Directory.CreateTempSubdirectory("maestrosla-bench-alternate-").FullName;
                try
                {
                    var target = new FolderBackupTarget(folder);
                    var backupOptions = new BackupOptions { Compression = compression };
                    if (sealed_ == 1)
                    {
                        backupOptions.Encryption.Key = key;
                    }
                    var clock = Stopwatch.StartNew();
                    var backup = await new EventLogBackup(store, target, backupOptions, TimeProvider.System).RunAsync(BackupType.Full, "benchmark", ct);
                    best[2 * sealed_] = Min(best[2 * sealed_], clock.Elapsed);
                    clock.Restart();
                    var validation = await new BackupValidator(target, backupOptions.Keyring()).ValidateAsync(backup.BackupId!, replay: false, ct);
                    best[(2 * sealed_) + 1] = Min(best[(2 * sealed_) + 1], clock.Elapsed);
                    if (backup.Events != events || !validation.Valid)
                    {
                        problems.Add($"backup {backup.BackupId} ({(sealed_ == 1 ? "sealed" : "plain")}): {backup.Events:N0} events, {string.Join("; ", validation.Problems)}");
                    }
                }
                finally
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
        return (best[0], best[1], best[2], best[3]);

        static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    }

    /// <summary>
    /// The month backed up, validated and restored again with a key (AES-256-GCM frames of 1 MiB) and HMAC-signed
    /// manifests: what encryption and signing cost against the plaintext run just before.
    /// </summary>
    private static async Task<BackupCryptoCost> SealedAsync(
        DocumentStore store, BenchEnvironment environment, SyntheticServiceMonth data, System.IO.Compression.CompressionLevel compression,
        long events, List<string> problems, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-bench-sealed-").FullName;
        try
        {
            var target = new FolderBackupTarget(folder);
            var sealedOptions = new BackupOptions
            {
                Compression = compression,
                Encryption = { Key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) },
            };
            var clock = Stopwatch.StartNew();
            var backup = await new EventLogBackup(store, target, sealedOptions, TimeProvider.System).RunAsync(BackupType.Full, "benchmark", ct);
            var backupDuration = clock.Elapsed;
            if (backup.Events != events)
            {
                problems.Add($"sealed backup holds {backup.Events:N0} events, the store {events:N0}");
            }
            clock.Restart();
            var validation = await new BackupValidator(target, sealedOptions.Keyring()).ValidateAsync(backup.BackupId!, replay: false, ct);
            var validate = clock.Elapsed;
            if (!validation.Valid)
            {
                problems.Add($"sealed backup does not validate: {string.Join("; ", validation.Problems)}");
            }
            var restoredConnectionString = await environment.CreateDatabaseAsync("maestrosla_month_restored_sealed");
            var restore = new EventLogRestore(store, target, cs => MaestroStore.Configure(new StoreOptions(), cs), sealedOptions, TimeProvider.System);
            var run = await restore.RestoreAsync(new RestoreRequest(backup.BackupId, null, restoredConnectionString), "benchmark", ct);
            await using var restored = new DocumentStore(MaestroStore.Configure(new StoreOptions(), restoredConnectionString));
            await CompareReportsAsync(store, restored, data, problems, ct);
            return new BackupCryptoCost(
                TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero,
                backupDuration, validate, run.Duration!.Value - run.RebuildDuration!.Value, run.Duration.Value, 0, backup.Bytes);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Uncached reports (SlaReportBuilder, as the API calls it on a cache miss), each in its own query session, round
    /// robin over services and four shapes: the month in UTC, the month in New York (hour edges), one endpoint's month,
    /// and an odd week with minute edges. Two timed windows of <paramref name="queries"/> reports: early, right after
    /// 500 untimed ones (the JIT still tiering the report path up: on two cores its background compiles delay reports
    /// in clumps), and steady, once 100 reports in a row compiled at most 20 methods — what a service that has been up
    /// for a while answers. Both print how many methods the JIT compiled while they were timed.
    /// </summary>
    private static async Task<(QueryLatencies Early, QueryLatencies Steady)> MeasureReportsAsync(
        DocumentStore store, Participants participants, SyntheticServiceMonth data, int queries, List<string> problems, CancellationToken ct)
    {
        const int warmup = 500;
        var reports = new ReportRotation(store, data);
        long monthRequests = 0;
        for (var i = 0; i < warmup; i++)
        {
            var report = await reports.NextAsync(ct);
            if (i < data.Services.Count)
            {
                monthRequests += report.Requests.Total;
            }
        }
        if (monthRequests != data.Requests)
        {
            problems.Add($"the month's reports count {monthRequests:N0} requests, {data.Requests:N0} were stored");
        }

        var early = await TimeReportsAsync(reports, participants, queries, warmup, ct);
        var untimed = warmup + queries;
        const int round = 100, quietMethods = 20, maxUntimed = 20_000;
        while (untimed < maxUntimed)
        {
            var compiled = JitInfo.GetCompiledMethodCount();
            for (var i = 0; i < round; i++)
            {
                await reports.NextAsync(ct);
            }
            untimed += round;
            if (JitInfo.GetCompiledMethodCount() - compiled <= quietMethods)
            {
                break;
            }
        }
        return (early, await TimeReportsAsync(reports, participants, queries, untimed, ct));
    }

    private static async Task<QueryLatencies> TimeReportsAsync(
        ReportRotation reports, Participants participants, int queries, int before, CancellationToken ct)
    {
        var elapsed = new double[queries];
        var postgresBefore = ProcStats.ProcessTreeCpuSeconds(participants.PostmasterPid);
        var loadGeneratorBefore = ProcStats.ProcessCpuSeconds(participants.LoadGeneratorPid);
        var window = Stopwatch.StartNew();
        var processBefore = Environment.CpuUsage.TotalTime;
        var gen2Before = GC.CollectionCount(2);
        var pauseBefore = GC.GetTotalPauseDuration();
        var jitBefore = JitInfo.GetCompiledMethodCount();
        var jitTimeBefore = JitInfo.GetCompilationTime();
        for (var i = 0; i < queries; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await reports.NextAsync(ct);
            elapsed[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        var seconds = window.Elapsed.TotalSeconds;
        var processCpu = Environment.CpuUsage.TotalTime - processBefore;
        var gen2 = GC.CollectionCount(2) - gen2Before;
        var pause = GC.GetTotalPauseDuration() - pauseBefore;
        Array.Sort(elapsed);
        return new QueryLatencies(
            queries, before, Percentile(elapsed, 50), Percentile(elapsed, 99), elapsed[^1], elapsed.Average(), gen2, pause,
            JitInfo.GetCompiledMethodCount() - jitBefore, JitInfo.GetCompilationTime() - jitTimeBefore,
            (ProcStats.ProcessTreeCpuSeconds(participants.PostmasterPid) - postgresBefore) / seconds,
            (ProcStats.ProcessCpuSeconds(participants.LoadGeneratorPid) - loadGeneratorBefore) / seconds,
            processCpu.TotalMilliseconds / queries);
    }

    /// <summary>The reports of <see cref="MeasureReportsAsync"/>, one shape after another for every service in turn.</summary>
    private sealed class ReportRotation(DocumentStore store, SyntheticServiceMonth data)
    {
        private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        private readonly SlaOptions _sla = new();
        private int _index;

        public async Task<SlaReport> NextAsync(CancellationToken ct)
        {
            var index = _index++;
            var month = data.Month;
            var monthEnd = month.AddMonths(1);
            var s = index % data.Services.Count;
            var service = data.Services[s];
            await using var session = store.QuerySession();
            switch ((index / data.Services.Count) % 4)
            {
                case 0:
                    return await SlaReportBuilder.BuildAsync(session, _sla, service, month, monthEnd, "UTC", null, ct);
                case 1:
                    var localStart = new DateTimeOffset(month.DateTime, NewYork.GetUtcOffset(month.DateTime));
                    var localEnd = new DateTimeOffset(monthEnd.DateTime, NewYork.GetUtcOffset(monthEnd.DateTime));
                    return await SlaReportBuilder.BuildAsync(session, _sla, service, localStart, localEnd, "America/New_York", null, ct);
                case 2:
                    var endpoints = data.EndpointsOf(s);
                    return await SlaReportBuilder.BuildAsync(session, _sla, service, month, monthEnd, "UTC", null, ct, endpoints[index % endpoints.Count]);
                default:
                    var oddFrom = month.AddDays(9).AddHours(7).AddMinutes(13);
                    return await SlaReportBuilder.BuildAsync(session, _sla, service, oddFrom, oddFrom.AddDays(7).AddHours(5).AddMinutes(41), "UTC", null, ct);
            }
        }
    }

    /// <summary>Every service's month from the restored store must be the source's, figure for figure.</summary>
    private static async Task CompareReportsAsync(
        DocumentStore source, DocumentStore restored, SyntheticServiceMonth data, List<string> problems, CancellationToken ct)
    {
        var sla = new SlaOptions();
        foreach (var service in data.Services)
        {
            await using var before = source.QuerySession();
            await using var after = restored.QuerySession();
            var expected = await SlaReportBuilder.BuildAsync(before, sla, service, data.Month, data.Month.AddMonths(1), "UTC", null, ct);
            var actual = await SlaReportBuilder.BuildAsync(after, sla, service, data.Month, data.Month.AddMonths(1), "UTC", null, ct);
            if (JsonSerializer.Serialize(expected with { ComputedAtSequence = 0 }) != JsonSerializer.Serialize(actual with { ComputedAtSequence = 0 }))
            {
                problems.Add($"restored report of {service} differs from the source's");
            }
        }
    }

    /// <summary>Nearest rank, as HdrHistogram reads percentiles.</summary>
    private static double Percentile(double[] sorted, double percentile) =>
        sorted[Math.Max(0, (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1)];

    private static async Task<(long Events, long JsonBytes, long Requests)> EventTotalsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"""
            select count(*), coalesce(sum(octet_length(data::text)), 0)::bigint,
                   coalesce(sum((select sum((m->>'Requests')::bigint) from jsonb_array_elements(data->'Minutes') m) ) filter (where type = 'requests_recorded'), 0)::bigint
            from {MaestroStore.Schema}.mt_events
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    private static async Task VacuumAnalyzeAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand("vacuum (analyze)", connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// The rebuild a restore runs, once per shard count, each from nothing on the same events and the same machine:
    /// the cost of splitting the rollups (every shard reads every request event and folds only its own services).
    /// </summary>
    private static async Task CompareRollupShardsAsync(BenchOptions options, string connectionString, long events, CancellationToken ct)
    {
        var timings = new List<(int Shards, TimeSpan Took)>();
        foreach (var shards in options.CompareRollupShards)
        {
            await using (var compared = new DocumentStore(
                MaestroStore.Configure(new StoreOptions(), connectionString, shards).WithRebuildPages(new BackupOptions().RebuildBatchSize)))
            {
                await compared.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
                var clock = Stopwatch.StartNew();
                await ProjectionRebuild.RunAsync(compared, TimeSpan.FromMinutes(30), _ => { }, ct);
                timings.Add((shards, clock.Elapsed));
                Console.WriteLine($"  rebuild with {shards} rollup shard(s): {clock.Elapsed.TotalSeconds:0.0} s, {events / clock.Elapsed.TotalSeconds:N0} events/s");
            }
            await ClearProjectionsAsync(connectionString, ct);
        }
        if (timings.Count > 1)
        {
            var baseline = timings[0];
            Console.WriteLine("  rebuild time relative to " + baseline.Shards + " shard(s): " +
                string.Join(", ", timings.Select(t => $"{t.Shards} → {t.Took / baseline.Took:0.00}×")));
        }
    }

    /// <summary>The projected documents and every projection's progress gone, as in a database just restored.</summary>
    private static async Task ClearProjectionsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"truncate {MaestroStore.Schema}.mt_doc_latencyrollup, {MaestroStore.Schema}.mt_doc_minuterollups, " +
            $"{MaestroStore.Schema}.mt_doc_reporteddowntime, {MaestroStore.Schema}.mt_doc_healthcheckday, {MaestroStore.Schema}.mt_doc_healthrunsday; " +
            $"delete from {MaestroStore.Schema}.mt_event_progression where name <> 'HighWaterMark'",
            connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> RollupDocumentsAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"select (select count(*) from {MaestroStore.Schema}.mt_doc_latencyrollup) + (select count(*) from {MaestroStore.Schema}.mt_doc_minuterollups)",
            connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
