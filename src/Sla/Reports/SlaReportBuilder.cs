using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Reports;
using MaestroSla.Contracts.Targets;
using MaestroSla.Projections.Gaps;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;
using Marten.Services.BatchQuerying;
using Microsoft.Extensions.ObjectPool;

namespace MaestroSla.Sla.Reports;

public static class SlaReportBuilder
{
    /// <summary>
    /// The report for [from, to). Now: from the projections (latency rollups, uptime signals). As of T: folded from
    /// the service's events recorded up to T, so it shows what a report said at T. Both paths share the arithmetic below.
    /// With <paramref name="endpoint"/> or <paramref name="customer"/> (not both), requests and latency are that series'.
    /// </summary>
    public static async Task<SlaReport> BuildAsync(
        IQuerySession session, SlaOptions options, string service, DateTimeOffset from, DateTimeOffset to,
        string timeZone, DateTimeOffset? asOf, CancellationToken ct, string? endpoint = null, string? customer = null)
    {
        from = from.ToUniversalTime();
        to = to.ToUniversalTime();

        var latency = Histograms.Get();
        try
        {
            var report = await BuildAsync(session, options, service, from, to, timeZone, asOf, endpoint, customer, latency, ct);
            return customer is null ? report : report with { Customer = customer };
        }
        finally
        {
            Histograms.Return(latency);
        }
    }

    /// <summary>
    /// A LatencyHistogram's counts take ~184 KB, so each new one lands on the large-object heap, which only gen-2
    /// collections reclaim; reports borrow one instead of allocating one each.
    /// </summary>
    private static readonly ObjectPool<LatencyHistogram> Histograms =
        new DefaultObjectPool<LatencyHistogram>(new ClearedOnReturn(), Environment.ProcessorCount * 4);

    private sealed class ClearedOnReturn : PooledObjectPolicy<LatencyHistogram>
    {
        public override LatencyHistogram Create() => new();

        public override bool Return(LatencyHistogram histogram)
        {
            histogram.Clear();
            return true;
        }
    }

    private static async Task<SlaReport> BuildAsync(
        IQuerySession session, SlaOptions options, string service, DateTimeOffset from, DateTimeOffset to,
        string timeZone, DateTimeOffset? asOf, string? endpoint, string? customer, LatencyHistogram latency, CancellationToken ct)
    {
        var series = RollupSeries.Key(endpoint, customer);
        // Requests past the endpoint limit are a figure of the service's own report.
        var wholeService = series == LatencyRollup.AllEndpoints;
        long requests = 0, errors = 0, sequence, overLimit = 0, overCustomerLimit = 0;
        var otherCustomers = RollupSeries.Customer(SeriesCatalogTable.OtherCustomer);
        IReadOnlyList<IngestGap> gaps = [];
        var downtimes = new List<DowntimeRecorded>();
        var checks = new List<HealthChecked>();
        List<HealthRun>? healthRuns = null;

        EffectiveTargets? targets = null;
        IReadOnlyList<MaintenanceWindow>? maintenance = null;
        if (asOf is null)
        {
            // Everything a live report reads, in one round trip. First how far the projections had come: the rollups
            // read after it include at least every event up to it (read after them, the daemon could move on in between,
            // and the report would claim events it did not count).
            var batch = session.CreateBatchQuery();
            var progressLoading = ReportProjections.Progress(batch, session.DocumentStore.Options);
            // The service's own report also counts the requests past the endpoint and customer limits: those series are
            // read in the same two statements as its own.
            var rollupsLoading = LatencyRollups.Load(
                batch, service, wholeService ? [series, SeriesCatalogTable.OtherEndpoint, otherCustomers] : [series], from, to);
            var reportedLoading = batch.Query<ReportedDowntime>()
                .Where(d => d.Service == service && d.Start < to && d.End > from)
                .OrderBy(d => d.Start)
                .ToList();
            var (wholeDaysLoading, partialDayLoading) = LoadHealthDays(batch, service, from, to);
            var targetEventsLoading = batch.Events.FetchStream(SlaTargetStreams.For(service));
            var maintenanceLoading = batch.Events.FetchStream(MaintenanceSchedule.For(service));
            var gapsLoading = batch.Query<IngestGap>().Where(g => g.DetectedAt > from && (g.From == null || g.From < to)).ToList();
            await batch.Execute(ct);
            sequence = await progressLoading;
            gaps = await gapsLoading;
            if (wholeService)
            {
                // Counts only: an endpoint's minute histograms are not needed for this.
                overLimit = (await rollupsLoading.CountsAsync(SeriesCatalogTable.OtherEndpoint)).Sum(r => r.Requests);
                overCustomerLimit = (await rollupsLoading.CountsAsync(otherCustomers)).Sum(r => r.Requests);
            }

            (requests, errors) = await rollupsLoading.AddTotalsAsync(session, series, latency, ct);
            downtimes.AddRange((await reportedLoading).Select(d => new DowntimeRecorded(d.Service, d.Start, d.End, d.Reason)));
            healthRuns = (await wholeDaysLoading).SelectMany(d => d.Runs).ToList();
            if (partialDayLoading is not null && await partialDayLoading is { } partial)
            {
                healthRuns.AddRange(HealthDowntime.Runs(partial.Checks().Where(c => c.CheckedAt < to)));
            }
            targets = SlaTargetStreams.Resolve(await targetEventsLoading, options, service);
            maintenance = MaintenanceSchedule.Fold(await maintenanceLoading);
        }
        else
        {
            var streams = await KnownServices.StreamKeysAsync(session, service, ct);
            var recorded = await session.Events.QueryAllRawEvents()
                .Where(e => e.StreamKey.IsOneOf(streams) && e.Timestamp <= asOf.Value)
                .OrderBy(e => e.Sequence)
                .ToListAsync(ct);
            var (windowStart, windowEnd) = MinuteBounds(from, to);
            sequence = 0;
            foreach (var @event in recorded)
            {
                sequence = Math.Max(sequence, @event.Sequence);
                if (RollupSeries.Recorded(@event.Data) is not { } minutes)
                {
                    continue;
                }
                if (wholeService && (minutes.Series == SeriesCatalogTable.OtherEndpoint || minutes.Series == otherCustomers))
                {
                    var over = minutes.Minutes.Where(m => m.Minute >= windowStart && m.Minute < windowEnd).Sum(m => m.Requests);
                    if (minutes.Series == otherCustomers)
                    {
                        overCustomerLimit += over;
                    }
                    else
                    {
                        overLimit += over;
                    }
                }
                if (!RollupSeries.Counts(series, minutes.Series))
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

        targets ??= await SlaTargetStreams.ResolveAsync(session, options, service, asOf, ct);
        var healthDowntime = healthRuns is null
            ? HealthDowntime.Derive(checks.Where(c => c.CheckedAt < to), options.HealthFailureThreshold, to)
            : HealthDowntime.Derive(healthRuns, options.HealthFailureThreshold, to);
        // Checks are kept as runs per UTC day, each starting at the day's first check: whether any check fell in the
        // period is therefore known to the day at its start. Both paths use the same rule so that they agree.
        var checkedFrom = LatencyRollup.StartOf(RollupGrain.Day, from);
        var healthChecked = healthRuns is null
            ? checks.Exists(c => c.CheckedAt >= checkedFrom && c.CheckedAt < to)
            : healthRuns.Exists(r => r.First >= checkedFrom && r.First < to);
        gaps = asOf is null ? gaps : (await IngestGap.OverlappingAsync(session, from, to, ct)).Where(g => g.DetectedAt <= asOf.Value).ToList();
        maintenance ??= await MaintenanceSchedule.WindowsAsync(session, service, asOf, ct);
        var report = Assemble(service, endpoint, timeZone, from, to, asOf, sequence, targets, requests, errors, latency, downtimes, healthDowntime, healthChecked) with
        {
            InputGaps = gaps.Select(g => new InputGap(g.Topic, g.Partition, g.FirstMissingOffset, g.LastMissingOffset, g.Count, g.From, g.DetectedAt)).ToList(),
            RequestsOverEndpointLimit = overLimit,
            RequestsOverCustomerLimit = overCustomerLimit,
        };
        return report with { Maintenance = ReportMaintenance.Of(report, maintenance) };
    }

    /// <param name="healthChecked">Health checks arrived in the period: its uptime is measured even without requests.</param>
    public static SlaReport Assemble(
        string service, string? endpoint, string timeZone, DateTimeOffset from, DateTimeOffset to, DateTimeOffset? asOf, long sequence,
        EffectiveTargets effective, long requests, long errors, LatencyHistogram latency,
        IReadOnlyList<DowntimeRecorded> downtimes, IReadOnlyList<(Interval Interval, string Component)> healthDowntime,
        bool healthChecked = false)
    {
        var targets = effective.Targets;
        var period = to - from;

        var sources = new List<(Interval Interval, string Source)>();
        foreach (var downtime in downtimes)
        {
            sources.Add((new Interval(downtime.Start, downtime.End), string.IsNullOrEmpty(downtime.Reason) ? "reported" : downtime.Reason));
        }
        foreach (var (interval, component) in healthDowntime)
        {
            sources.Add((interval, $"health check: {component}"));
        }
        var merged = DowntimeIntervals.MergeWithin(sources.Select(s => s.Interval), from, to);
        var downtimeEvents = merged
            .Select(m => new DowntimeEvent(m.Start, m.End, m.Duration,
                sources.Where(s => s.Interval.Start < m.End && s.Interval.End > m.Start).Select(s => s.Source).Distinct().Order(StringComparer.Ordinal).ToList()))
            .ToList();
        var down = DowntimeIntervals.Total(merged);

        // No requests measure no availability, latency or error rate; with no signal at all (no requests, downtime or
        // health checks) there is no evidence the service was up either. Those targets are "no data", never "met".
        double? errorRate = requests == 0 ? null : 100.0 * errors / requests;
        double? availability = requests == 0 ? null : 100.0 * (requests - errors) / requests;
        double? uptime = requests == 0 && merged.Count == 0 && !healthChecked
            ? null
            : period <= TimeSpan.Zero ? 100.0 : 100.0 * (1 - (down / period));
        var latencyFigures = new LatencyFigures(
            latency.PercentileMs(50), latency.PercentileMs(90), latency.PercentileMs(95),
            latency.PercentileMs(99), latency.PercentileMs(99.9), latency.MaxMs);

        var metrics = new List<SlaMetricResult>
        {
            Metric("uptime", ">=", targets.UptimePercent, uptime, "%"),
            Metric("availability", ">=", targets.AvailabilityPercent, availability, "%"),
            Metric("latency_p95", "<", targets.P95Ms, latencyFigures.P95Ms, "ms"),
            Metric("latency_p99", "<", targets.P99Ms, latencyFigures.P99Ms, "ms"),
            Metric("error_rate", "<", targets.ErrorRatePercent, errorRate, "%"),
        };
        var status = SlaStatus.Overall(metrics.Select(m => m.Status));

        var allowedErrors = requests * (1 - (targets.AvailabilityPercent / 100));
        var allowedDowntimeMinutes = period.TotalMinutes * (1 - (targets.UptimePercent / 100));
        return new SlaReport(
            service, endpoint, timeZone, from, to, asOf, sequence, effective.Source,
            SlaStatus.MetOf(status),
            status,
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

    private static SlaMetricResult Metric(string metric, string comparison, double target, double? actual, string unit)
    {
        var status = actual is not { } value
            ? SlaStatus.NoData
            : (comparison == ">=" ? value >= target : value < target) ? SlaStatus.Met : SlaStatus.Breached;
        return new SlaMetricResult(metric, comparison, target, actual, unit, SlaStatus.MetOf(status), status);
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

    /// <summary>
    /// The health-check runs a report needs: those of whole UTC days from one day before the period (so that a run of
    /// failed checks that began before the period counts from the period's start once it reaches the threshold; a run
    /// whose checks are sparser than the threshold per day is not seen before the period began), and, for a period
    /// ending inside a day, the runs of that day's checks before the end.
    /// </summary>
    private static (Task<IReadOnlyList<HealthRunsDay>> WholeDays, Task<HealthCheckDay?>? PartialDay) LoadHealthDays(
        IBatchedQuery batch, string service, DateTimeOffset from, DateTimeOffset to)
    {
        var lastDay = LatencyRollup.StartOf(RollupGrain.Day, to);
        var wholeDays = new List<string>();
        for (var day = LatencyRollup.StartOf(RollupGrain.Day, from - HealthLookback); day < lastDay; day = day.AddDays(1))
        {
            wholeDays.Add(HealthCheckDay.IdFor(service, day));
        }
        return (batch.LoadMany<HealthRunsDay>().ById(wholeDays.ToArray()),
            lastDay < to ? batch.Load<HealthCheckDay>(HealthCheckDay.IdFor(service, lastDay)) : null);
    }

    private static readonly TimeSpan HealthLookback = TimeSpan.FromDays(1);
}
