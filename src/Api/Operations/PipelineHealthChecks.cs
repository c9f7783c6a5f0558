using System.Globalization;
using MaestroSla.Api.Backups;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Operations;

/// <summary>
/// Whether this process's consumer stores what it reads: Degraded after Operations:IngestFailuresBeforeDegraded
/// batches in a row rolled back, or when nothing was stored for Operations:IngestStalledAfter although the group
/// has lag; Unhealthy when either lasts Operations:IngestUnhealthyAfter. The description names the last error.
/// </summary>
public sealed class IngestHealthCheck(IngestProgress progress, OperationsSampler sampler, IOptions<OperationsOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();
        var streak = progress.FailureStreak;
        var lastStored = progress.LastStoredAt;
        var data = new Dictionary<string, object>
        {
            ["storedBatches"] = progress.StoredBatches,
            ["failedBatches"] = progress.FailuresByReason.Values.Sum(),
            ["consecutiveFailures"] = streak?.Consecutive ?? 0,
        };
        if (lastStored is { } stored)
        {
            data["lastStoredAt"] = stored;
        }
        if (streak is not null)
        {
            data["lastError"] = streak.LastError;
            data["lastErrorReason"] = streak.LastReason;
        }

        if (streak is { } failing && failing.Consecutive >= settings.IngestFailuresBeforeDegraded)
        {
            var lasting = now - failing.Since;
            return Task.FromResult(new HealthCheckResult(
                lasting >= settings.IngestUnhealthyAfter ? HealthStatus.Unhealthy : HealthStatus.Degraded,
                $"{failing.Consecutive} batches in a row not stored, for {Seconds(lasting)}; last error: {failing.LastError}",
                data: data));
        }

        // Lost input is permanent: say so for a day after it was found (the reports of its period list it for good).
        if (progress.LastLostAt is { } lostAt && now - lostAt < TimeSpan.FromDays(1))
        {
            data["lostMessages"] = progress.LostMessages;
            data["lastLostAt"] = lostAt;
            return Task.FromResult(HealthCheckResult.Degraded(
                $"{progress.LostMessages} message(s) were deleted by the broker before they were read (last found {Seconds(now - lostAt)} ago); " +
                "reports of that time list the gap (inputGaps)",
                data: data));
        }

        // Nothing stored for a while only matters when something waits to be stored.
        var idle = now - (lastStored ?? progress.StartedAt);
        if (sampler.Kafka?.ConsumerLag is > 0 and var lag && idle >= settings.IngestStalledAfter)
        {
            var why = streak is null ? "" : $"; last error: {streak.LastError}";
            return Task.FromResult(new HealthCheckResult(
                idle >= settings.IngestUnhealthyAfter ? HealthStatus.Unhealthy : HealthStatus.Degraded,
                $"nothing stored for {Seconds(idle)} although {lag} message(s) wait{why}",
                data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy(
            lastStored is { } last
                ? $"{progress.StoredBatches} batch(es) stored, the last {Seconds(now - last)} ago" + (streak is null ? "" : $"; {streak.Consecutive} failed since: {streak.LastError}")
                : "nothing stored yet, nothing waiting",
            data));
    }

    internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";
}

/// <summary>
/// The async projections: Degraded when one is more than Operations:MaxProjectionLag events behind, or when a
/// shard is paused or stopped by an error (from the progression rows, and from this process's daemon when it runs
/// one). The counts of errors and pauses are in the data and on /metrics.
/// </summary>
public sealed class ProjectionsHealthCheck(OperationsSampler sampler, ProjectionDaemonMonitor monitor, IOptions<OperationsOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (sampler.Projections is not { } sample)
        {
            return Task.FromResult(HealthCheckResult.Degraded("projections not sampled yet"));
        }
        var age = time.GetUtcNow() - sample.At;
        if (age > sampler.MaxSampleAge)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"the last projection sample is {Math.Round(age.TotalSeconds)} s old: the sampler is stuck"));
        }
        if (sample.Error is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"projection progress unknown: {sample.Error}"));
        }

        var max = options.Value.MaxProjectionLag;
        var problems = new List<string>();
        var data = new Dictionary<string, object> { ["maxLagEvents"] = max };
        foreach (var (projection, behind) in sample.EventsBehind.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            data[$"{projection}.lagEvents"] = behind;
            if (behind > max)
            {
                problems.Add($"{projection} is {behind} events behind (max {max})");
            }
        }
        var halted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (shard, reason) in sample.Halted ?? new Dictionary<string, string>())
        {
            halted[shard] = reason;
        }
        foreach (var (shard, failures) in monitor.Shards)
        {
            data[$"{shard}.errors"] = failures.Errors;
            data[$"{shard}.pauses"] = failures.Pauses + failures.Stops;
            data[$"{shard}.halted"] = failures.Halted;
            if (failures.Halted)
            {
                halted[shard] = $"halted after {failures.Errors} error(s): {failures.LastError}";
            }
        }
        foreach (var (shard, reason) in halted)
        {
            problems.Add($"{shard} {reason}");
        }

        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy(string.Join(", ", sample.EventsBehind.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value} behind")) is { Length: > 0 } lags ? lags : "no async projections", data)
            : HealthCheckResult.Degraded(string.Join("; ", problems), data: data));
    }
}

/// <summary>
/// Registered when Backup:Schedule sets an interval: the newest successful backup is younger than 1.5 × the
/// shortest interval, else Degraded (naming the newest failure when one came after it).
/// </summary>
public sealed class BackupAgeHealthCheck(OperationsSampler sampler, IOptions<BackupScheduleOptions> schedule, TimeProvider time) : IHealthCheck
{
    /// <summary>How late a scheduled backup may be before it counts as missing: one interval plus half of one.</summary>
    public const double AllowedIntervals = 1.5;

    public static TimeSpan? Interval(BackupScheduleOptions schedule) =>
        new[] { schedule.FullEvery, schedule.DifferentialEvery, schedule.IncrementalEvery }.Where(t => t is not null).Min();

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var interval = Interval(schedule.Value) ?? TimeSpan.Zero;
        var allowed = interval * AllowedIntervals;
        if (sampler.Records is not { } records)
        {
            return Task.FromResult(HealthCheckResult.Healthy("backups not sampled yet"));
        }
        if (records.Error is not null)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"backup runs unknown: {records.Error}"));
        }
        var now = time.GetUtcNow();
        var data = new Dictionary<string, object> { ["intervalSeconds"] = interval.TotalSeconds };
        var failure = records.LastBackupFailure is { } error ? $"; the newest run failed: {error}" : "";
        if (records.LastBackupAt is not { } last)
        {
            // A first backup is due at start; give it the same allowance as any other.
            var waited = now - sampler.StartedAt;
            return Task.FromResult(waited > allowed
                ? HealthCheckResult.Degraded($"no successful backup yet, {IngestHealthCheck.Seconds(waited)} after start (allowed {IngestHealthCheck.Seconds(allowed)}){failure}", data: data)
                : HealthCheckResult.Healthy($"no successful backup yet; the first is due{failure}", data));
        }
        var age = now - last;
        data["lastBackupAt"] = last;
        data["ageSeconds"] = Math.Round(age.TotalSeconds);
        return Task.FromResult(age > allowed
            ? HealthCheckResult.Degraded($"the newest backup is {IngestHealthCheck.Seconds(age)} old, over {AllowedIntervals} × the {IngestHealthCheck.Seconds(interval)} interval{failure}", data: data)
            : HealthCheckResult.Healthy($"the newest backup is {IngestHealthCheck.Seconds(age)} old (interval {IngestHealthCheck.Seconds(interval)}){failure}", data));
    }
}

/// <summary>
/// The per-service endpoint and customer limits: Degraded while a service has reached one, naming the service and a
/// few of the names counted under "(other)" — usually a client that puts ids into endpoint or customer names.
/// </summary>
public sealed class CardinalityHealthCheck(SeriesCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var endpoints = catalog.Endpoints.ServicesAtLimit();
        var customers = catalog.Customers.ServicesAtLimit();
        var data = new Dictionary<string, object>
        {
            ["endpointLimitPerService"] = catalog.Endpoints.Limit,
            ["servicesAtLimit"] = endpoints.Count,
            ["customerLimitPerService"] = catalog.Customers.Limit,
            ["servicesAtCustomerLimit"] = customers.Count,
        };
        if (endpoints.Count == 0 && customers.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy(
                $"every service within {catalog.Endpoints.Limit} endpoints and {catalog.Customers.Limit} customers", data));
        }
        var described = new[] { Describe(catalog.Endpoints, endpoints), Describe(catalog.Customers, customers) };
        return Task.FromResult(HealthCheckResult.Degraded(string.Join("; ", described.Where(d => d is not null)), data: data));
    }

    private static string? Describe(
        SeriesLimit limit, IReadOnlyList<(string Service, int Names, long Refusals, IReadOnlyList<string> RefusedSample)> atLimit)
    {
        if (atLimit.Count == 0)
        {
            return null;
        }
        var named = string.Join("; ", atLimit.Take(5).Select(s =>
            $"{s.Service}: {s.Names} {limit.Plural}, new ones counted under {limit.Other} (e.g. {string.Join(", ", s.RefusedSample.Take(3))})"));
        return $"{atLimit.Count} service(s) at the {limit.Kind} limit: {named}";
    }
}
