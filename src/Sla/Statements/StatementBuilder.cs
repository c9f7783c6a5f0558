using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Reports;
using MaestroSla.Contracts.Statements;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;

namespace MaestroSla.Sla.Statements;

/// <summary>
/// A customer's statement for a month: every service's report (downtime merged from reports and health checks), the
/// services' maintenance windows, and the contract's rules applied. With P the period, M the union of the windows
/// clipped to P (combined: of every service of the contract; each: the service's own) and D the union of downtime
/// (combined: over the services): adjusted uptime = (|P| − |M| − |D \ M|) / (|P| − |M|). excludeRequests leaves the
/// minutes wholly inside M out of availability, error rate and latency (<see cref="RequestsOutsideMaintenance"/>). With a
/// customerId, requests are that customer's only (its rollups, or its events as of T); downtime stays the services'.
/// Credit = the largest percent whose below exceeds the adjusted credit metric.
/// </summary>
public static class StatementBuilder
{
    public const string CombinedName = "(combined)";

    public static async Task<Statement> BuildAsync(
        IQuerySession session, SlaOptions options, string customer, string month, ContractVersionEntry contract, ReportPeriod period,
        DateTimeOffset? asOf, CancellationToken ct)
    {
        var terms = contract.Terms;
        var from = period.From;
        var to = period.To;

        var reports = new List<SlaReport>();
        var occurrencesByService = new Dictionary<string, List<MaintenanceOccurrence>>(StringComparer.Ordinal);
        foreach (var service in terms.Services)
        {
            reports.Add(await SlaReportBuilder.BuildAsync(session, options, service, from, to, period.TimeZone, asOf, ct));
            var windows = await MaintenanceSchedule.WindowsAsync(session, service, asOf, ct);
            occurrencesByService[service] = MaintenanceSchedule.Occurrences(windows, from, to);
        }
        var allOccurrences = occurrencesByService.Values.SelectMany(o => o).OrderBy(o => o.Start).ThenBy(o => o.Service, StringComparer.Ordinal).ToList();
        var combinedWindows = MaintenanceSchedule.Union(allOccurrences, from, to);
        var each = terms.Measure == ContractTerms.Each;

        var services = new List<StatementFigures>();
        var combinedAll = new LatencyHistogram();
        var combinedKept = new LatencyHistogram();
        long requests = 0, errors = 0, keptRequests = 0, keptErrors = 0;
        var downtime = new List<Interval>();
        var anySignal = false;
        foreach (var report in reports)
        {
            var windows = each ? MaintenanceSchedule.Union(occurrencesByService[report.Service], from, to) : combinedWindows;
            var excluded = terms.Maintenance.ExcludeRequests ? RequestsOutsideMaintenance.ExcludedMinutes(windows) : new List<Interval>();
            var (all, kept) = await RequestsOutsideMaintenance.LoadAsync(session, report.Service, from, to, excluded, asOf, ct, terms.CustomerId);
            var serviceDowntime = report.DowntimeEvents.Select(e => new Interval(e.Start, e.End)).ToList();
            var signal = report.Uptime.UptimePercent is not null;
            anySignal |= signal;
            downtime.AddRange(serviceDowntime);
            services.Add(Figures(report.Service, terms, from, to, windows, serviceDowntime, signal, all, kept));

            requests += all.Requests;
            errors += all.Errors;
            keptRequests += kept.Requests;
            keptErrors += kept.Errors;
            combinedAll.Add(all.Latency);
            combinedKept.Add(kept.Latency);
        }

        StatementFigures? combined = null;
        if (!each)
        {
            var mergedDowntime = DowntimeIntervals.MergeWithin(downtime, from, to);
            combined = Figures(CombinedName, terms, from, to, combinedWindows, mergedDowntime, anySignal,
                new RequestCounts(requests, errors, combinedAll), new RequestCounts(keptRequests, keptErrors, combinedKept));
        }

        var metrics = new List<StatementMetric>();
        foreach (var (metric, target) in terms.Targets.All())
        {
            if (target is { } goal)
            {
                metrics.Add(Metric(metric, goal, Actual(metric, combined, services)));
            }
        }
        // Each service's verdict against the contract's targets (in "each" they decide; in "combined" they inform).
        services = services.Select(s => WithVerdict(s, terms)).ToList();
        combined = combined is null ? null : WithVerdict(combined, terms);
        var overall = SlaStatus.Overall(metrics.Select(m => m.Status));

        var creditActual = terms.CreditMetric is { } creditMetric ? Actual(creditMetric, combined, services) : null;
        var credit = creditActual is { } value
            ? terms.Credits.Where(c => c.Below > value).Select(c => c.Percent).DefaultIfEmpty(0).Max()
            : (double?)null;

        return new Statement(
            customer, month, period.TimeZone, period.Partial ? ReportPeriod.PartialStatus : ReportPeriod.Final, from, to, period.ScheduledTo, asOf,
            contract.Version, terms.Measure, terms.Maintenance.ExcludeDowntime, terms.Maintenance.ExcludeRequests,
            SlaStatus.MetOf(overall), overall, terms.CreditMetric, creditActual, credit,
            metrics, combined, services, allOccurrences, null, [])
        {
            CustomerId = terms.CustomerId,
        };
    }

    private static StatementFigures Figures(
        string service, ContractTerms terms, DateTimeOffset from, DateTimeOffset to, List<Interval> windows, List<Interval> downtime, bool signal,
        RequestCounts all, RequestCounts kept)
    {
        var uptime = AdjustedUptime.Of(from, to, terms.Maintenance.ExcludeDowntime ? windows : new List<Interval>(), downtime);
        return new StatementFigures(
            service,
            new RawAndAdjusted(signal ? uptime.RawPercent : null, signal ? uptime.AdjustedPercent : null),
            new RawAndAdjusted(all.AvailabilityPercent, kept.AvailabilityPercent),
            new RawAndAdjusted(all.ErrorRatePercent, kept.ErrorRatePercent),
            new RawAndAdjusted(all.Latency.PercentileMs(95), kept.Latency.PercentileMs(95)),
            new RawAndAdjusted(all.Latency.PercentileMs(99), kept.Latency.PercentileMs(99)),
            all.Requests, all.Requests - kept.Requests, all.Errors, all.Errors - kept.Errors,
            uptime.Downtime.TotalSeconds, uptime.ExcludedDowntime.TotalSeconds, DowntimeIntervals.Total(windows).TotalSeconds,
            null, SlaStatus.NoData);
    }

    private static StatementFigures WithVerdict(StatementFigures figures, ContractTerms terms)
    {
        var statuses = terms.Targets.All()
            .Where(t => t.Target is not null)
            .Select(t => Metric(t.Metric, t.Target!.Value, Adjusted(t.Metric, figures)).Status)
            .ToList();
        var overall = SlaStatus.Overall(statuses);
        return figures with { Met = SlaStatus.MetOf(overall), Status = overall };
    }

    /// <summary>The figure a target is judged on: combined, or the worst service's (each: met only if every service is).</summary>
    private static double? Actual(string metric, StatementFigures? combined, List<StatementFigures> services)
    {
        if (combined is not null)
        {
            return Adjusted(metric, combined);
        }
        var values = services.Select(s => Adjusted(metric, s)).OfType<double>().ToList();
        return values.Count == 0 ? null : HigherIsBetter(metric) ? values.Min() : values.Max();
    }

    private static double? Adjusted(string metric, StatementFigures figures) => metric switch
    {
        ContractTargets.Uptime => figures.UptimePercent.Adjusted,
        ContractTargets.Availability => figures.AvailabilityPercent.Adjusted,
        ContractTargets.ErrorRate => figures.ErrorRatePercent.Adjusted,
        ContractTargets.LatencyP95 => figures.LatencyP95Ms.Adjusted,
        _ => figures.LatencyP99Ms.Adjusted,
    };

    private static bool HigherIsBetter(string metric) => metric is ContractTargets.Uptime or ContractTargets.Availability;

    private static StatementMetric Metric(string metric, double target, double? actual)
    {
        var higher = HigherIsBetter(metric);
        var status = actual is not { } value
            ? SlaStatus.NoData
            : (higher ? value >= target : value < target) ? SlaStatus.Met : SlaStatus.Breached;
        var unit = metric is ContractTargets.LatencyP95 or ContractTargets.LatencyP99 ? "ms" : "%";
        return new StatementMetric(metric, higher ? ">=" : "<", target, actual, unit, SlaStatus.MetOf(status), status);
    }
}
