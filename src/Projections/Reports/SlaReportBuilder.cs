using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Targets;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections.Reports;

public static class SlaReportBuilder
{
    /// <summary>
    /// The report for [from, to). Now: from the latency rollups. As of T: folded from the service's events
    /// recorded up to T, so it shows what a report said at T. Both paths share the arithmetic below.
    /// </summary>
    public static async Task<SlaReport> BuildAsync(
        IQuerySession session, SlaOptions options, string service, DateTimeOffset from, DateTimeOffset to,
        string timeZone, DateTimeOffset? asOf, CancellationToken ct, string? endpoint = null)
    {
        from = from.ToUniversalTime();
        to = to.ToUniversalTime();

        var latency = new LatencyHistogram();
        long requests = 0, errors = 0, sequence;
        var downtimes = new List<DowntimeRecorded>();
        var checks = new List<HealthChecked>();

        if (asOf is null)
        {
            var ids = RollupPlan.Cover(from, to)
                .Select(s => LatencyRollup.IdFor(service, endpoint ?? LatencyRollup.AllEndpoints, s.Grain, s.Start))
                .ToArray();
            foreach (var rollup in await session.LoadManyAsync<LatencyRollup>(ct, ids))
            {
                requests += rollup.Requests;
                errors += rollup.Errors;
                latency.AddEncoded(rollup.Latency);
            }
            var others = await session.Events.QueryAllRawEvents()
                .Where(e => e.StreamKey == service && (e.EventTypeName == DowntimeAlias || e.EventTypeName == HealthAlias))
                .ToListAsync(ct);
            Collect(others, downtimes, checks);
            sequence = await RollupProgressAsync(session, ct);
        }
        else
        {
            var recorded = await session.Events.QueryAllRawEvents()
                .Where(e => e.StreamKey == service && e.Timestamp <= asOf.Value)
                .ToListAsync(ct);
            var (windowStart, windowEnd) = MinuteBounds(from, to);
            sequence = 0;
            foreach (var @event in recorded)
            {
                sequence = Math.Max(sequence, @event.Sequence);
                if (@event.Data is not RequestsRecorded minutes || (endpoint is not null && minutes.Endpoint != endpoint))
                {
                    continue;
                }
                foreach (var minute in minutes.Minutes)
                {
                    if (minute.Minute >= windowStart && minute.Minute < windowEnd)
                    {
                        requests += minute.Requests;
                        errors += minute.Errors;
                        latency.AddEncoded(minute.Latency);
                    }
                }
            }
            Collect(recorded, downtimes, checks);
        }

        var targets = await SlaTargetStreams.ResolveAsync(session, options, service, asOf, ct);
        return Assemble(service, endpoint, timeZone, from, to, asOf, sequence, targets, requests, errors, latency, downtimes, checks, options.HealthFailureThreshold);
    }

    public static SlaReport Assemble(
        string service, string? endpoint, string timeZone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset? asOf, long sequence,
        EffectiveTargets effective, long requests, long errors, LatencyHistogram latency,
        IReadOnlyList<DowntimeRecorded> downtimes, IReadOnlyList<HealthChecked> checks, int healthFailureThreshold)
    {
        var targets = effective.Targets;
        var period = to - from;

        var sources = new List<(Interval Interval, string Source)>();
        foreach (var downtime in downtimes)
        {
            sources.Add((new Interval(downtime.Start, downtime.End), string.IsNullOrEmpty(downtime.Reason) ? "reported" : downtime.Reason));
        }
        foreach (var (interval, component) in HealthDowntime.Derive(checks.Where(c => c.CheckedAt < to), healthFailureThreshold, to))
        {
            sources.Add((interval, $"health check: {component}"));
        }
        var merged = DowntimeIntervals.MergeWithin(sources.Select(s => s.Interval), from, to);
        var downtimeEvents = merged
            .Select(m => new DowntimeEvent(m.Start, m.End, m.Duration,
                sources.Where(s => s.Interval.Start < m.End && s.Interval.End > m.Start).Select(s => s.Source).Distinct().Order(StringComparer.Ordinal).ToList()))
            .ToList();
        var down = DowntimeIntervals.Total(merged);

        double? errorRate = requests == 0 ? null : 100.0 * errors / requests;
        var availability = requests == 0 ? 100.0 : 100.0 * (requests - errors) / requests;
        var uptime = period <= TimeSpan.Zero ? 100.0 : 100.0 * (1 - (down / period));
        var latencyFigures = new LatencyFigures(
            latency.PercentileMs(50), latency.PercentileMs(90), latency.PercentileMs(95),
            latency.PercentileMs(99), latency.PercentileMs(99.9), latency.MaxMs);

        // No traffic breaches no latency or error target: the actual is reported as absent, and met.
        var metrics = new List<SlaMetricResult>
        {
            new("uptime", ">=", targets.UptimePercent, uptime, "%", uptime >= targets.UptimePercent),
            new("availability", ">=", targets.AvailabilityPercent, availability, "%", availability >= targets.AvailabilityPercent),
            new("latency_p95", "<", targets.P95Ms, latencyFigures.P95Ms, "ms", latencyFigures.P95Ms is not { } p95 || p95 < targets.P95Ms),
            new("latency_p99", "<", targets.P99Ms, latencyFigures.P99Ms, "ms", latencyFigures.P99Ms is not { } p99 || p99 < targets.P99Ms),
            new("error_rate", "<", targets.ErrorRatePercent, errorRate, "%", errorRate is not { } rate || rate < targets.ErrorRatePercent),
        };

        var allowedErrors = requests * (1 - (targets.AvailabilityPercent / 100));
        var allowedDowntimeMinutes = period.TotalMinutes * (1 - (targets.UptimePercent / 100));
        return new SlaReport(
            service, endpoint, timeZone, from, to, asOf, sequence, effective.Source,
            metrics.TrueForAll(m => m.Met),
            metrics,
            new RequestFigures(requests, errors, errorRate, availability),
            latencyFigures,
            new UptimeFigures(
                uptime, down,
                merged.Count == 0 ? null : (period - down) / merged.Count,
                merged.Count == 0 ? null : down / merged.Count),
            merged.Count,
            downtimeEvents,
            Budget("requests", allowedErrors, errors),
            Budget("downtime_minutes", allowedDowntimeMinutes, down.TotalMinutes));
    }

    private static ErrorBudget Budget(string basis, double allowed, double consumed) =>
        allowed <= 0
            ? new ErrorBudget(basis, allowed, consumed, null, null)
            : new ErrorBudget(basis, allowed, consumed, 100 * consumed / allowed, 100 - (100 * consumed / allowed));

    private static (DateTimeOffset Start, DateTimeOffset End) MinuteBounds(DateTimeOffset from, DateTimeOffset to)
    {
        // The same minute resolution as the rollups: from rounded down, to rounded up.
        var start = LatencyRollup.StartOf(RollupGrain.Minute, from);
        var end = LatencyRollup.StartOf(RollupGrain.Minute, to);
        return (start, end < to ? end.AddMinutes(1) : end);
    }

    private static void Collect(IReadOnlyList<IEvent> events, List<DowntimeRecorded> downtimes, List<HealthChecked> checks)
    {
        foreach (var @event in events)
        {
            switch (@event.Data)
            {
                case DowntimeRecorded downtime:
                    downtimes.Add(downtime);
                    break;
                case HealthChecked check:
                    checks.Add(check);
                    break;
            }
        }
    }

    private static async Task<long> RollupProgressAsync(IQuerySession session, CancellationToken ct)
    {
        var schema = session.DocumentStore.Options.Events.DatabaseSchemaName;
        var progress = await session.AdvancedSql.QueryAsync<long>(
            $"select coalesce(max(last_seq_id), 0) from {schema}.mt_event_progression where name = '{LatencyRollupProjection.Name}:All'", ct);
        return progress.Count == 0 ? 0 : progress[0];
    }

    private const string DowntimeAlias = "downtime_recorded";
    private const string HealthAlias = "health_checked";
}
