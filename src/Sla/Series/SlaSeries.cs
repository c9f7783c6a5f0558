using System.Text.Json.Serialization;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Reports;
using MaestroSla.Contracts.Targets;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;

namespace MaestroSla.Sla.Series;

[JsonConverter(typeof(JsonStringEnumConverter<SeriesStep>))]
public enum SeriesStep
{
    Hour,
    Day,
}

/// <summary>
/// One step of a series. Budgets are cumulative from the start of the period to the end of this step, against
/// what the whole period allows (as in the report), so the last point of a finished month equals the report.
/// </summary>
public sealed record SeriesPoint(
    DateTimeOffset Start,
    DateTimeOffset End,
    long Requests,
    long Errors,
    double? ErrorRatePercent,
    double? P50Ms,
    double? P95Ms,
    double? P99Ms,
    double UptimePercent,
    double DowntimeSeconds,
    long CumulativeErrors,
    double? ErrorBudgetConsumedPercent,
    double CumulativeDowntimeMinutes,
    double? DowntimeBudgetConsumedPercent);

/// <summary>
/// A report period cut into local hours or days of its time zone, for charts: per step requests, errors, error
/// rate, P50/P95/P99 and uptime; the downtime intervals; and how fast the error and downtime budgets burn.
/// Steps that start at or after <see cref="Until"/> (the future of the current month) are left out.
/// </summary>
public sealed record SlaSeries(
    string Service,
    string? Endpoint,
    string TimeZone,
    SeriesStep Step,
    DateTimeOffset From,
    DateTimeOffset To,
    DateTimeOffset Until,
    SlaTargets Targets,
    long Requests,
    long Errors,
    double ErrorBudgetAllowed,
    double DowntimeBudgetAllowedMinutes,
    IReadOnlyList<SeriesPoint> Points,
    IReadOnlyList<DowntimeEvent> Downtime)
{
    /// <summary>
    /// With a Customer (?customer=), requests, errors and latency are that customer's; downtime and uptime the service's
    /// (as in its report). Absent from the JSON otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Customer { get; init; }
}

public static class SlaSeriesBuilder
{
    /// <summary>
    /// Cuts [from, to) at the starts of local hours or local days in <paramref name="zone"/>: a DST day has 23 or
    /// 25 hours, and in a zone with a half-hour offset the hours start at :30 UTC. The first and last steps are
    /// shorter when from or to fall inside one.
    /// </summary>
    public static List<(DateTimeOffset Start, DateTimeOffset End)> Steps(DateTimeOffset from, DateTimeOffset to, TimeZoneInfo zone, SeriesStep step)
    {
        var steps = new List<(DateTimeOffset, DateTimeOffset)>();
        var cursor = from.ToUniversalTime();
        var end = to.ToUniversalTime();
        while (cursor < end)
        {
            var next = step == SeriesStep.Hour ? NextLocalHour(cursor, zone) : NextLocalMidnight(cursor, zone);
            if (next > end)
            {
                next = end;
            }
            steps.Add((cursor, next));
            cursor = next;
        }
        return steps;
    }

    /// <summary>The rollups that cover the steps (whole UTC days or hours where they fit, else minutes).</summary>
    public static List<(RollupGrain Grain, DateTimeOffset Start)> RollupSegments(IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> steps)
    {
        var segments = new HashSet<(RollupGrain Grain, DateTimeOffset Start)>();
        foreach (var (start, end) in steps)
        {
            segments.UnionWith(RollupPlan.Cover(start, end));
        }
        return [.. segments];
    }

    /// <summary>
    /// The series from the rollups that cover the steps (missing ones count as no traffic) and the period's
    /// merged downtime. Budgets use the same arithmetic as <see cref="SlaReportBuilder.Assemble"/>.
    /// </summary>
    public static SlaSeries Build(
        string service, string? endpoint, string timeZone, SeriesStep step, DateTimeOffset from, DateTimeOffset to, DateTimeOffset until,
        SlaTargets targets, IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> steps, IEnumerable<LatencyRollup> rollups,
        IReadOnlyList<DowntimeEvent> downtime, string? customer = null)
    {
        var series = RollupSeries.Key(endpoint, customer);
        var byId = new Dictionary<string, LatencyRollup>(StringComparer.Ordinal);
        foreach (var rollup in rollups)
        {
            byId[rollup.Id] = rollup;
        }

        var histogram = new LatencyHistogram();
        var figures = new List<(long Requests, long Errors, double? P50, double? P95, double? P99, double DownSeconds)>(steps.Count);
        long requests = 0, errors = 0;
        var downtimeIndex = 0;
        foreach (var (start, end) in steps)
        {
            histogram.Clear();
            long stepRequests = 0, stepErrors = 0;
            foreach (var (grain, segment) in RollupPlan.Cover(start, end))
            {
                if (!byId.TryGetValue(LatencyRollup.IdFor(service, series, grain, segment), out var rollup))
                {
                    continue;
                }
                stepRequests += rollup.Requests;
                stepErrors += rollup.Errors;
                if (rollup.Latency.Length > 0)
                {
                    histogram.AddEncoded(rollup.Latency);
                }
            }
            requests += stepRequests;
            errors += stepErrors;
            figures.Add((stepRequests, stepErrors, histogram.PercentileMs(50), histogram.PercentileMs(95), histogram.PercentileMs(99),
                DownSeconds(downtime, ref downtimeIndex, start, end)));
        }

        var allowedErrors = requests * (1 - (targets.AvailabilityPercent / 100));
        var allowedDowntimeMinutes = (to - from).TotalMinutes * (1 - (targets.UptimePercent / 100));
        var points = new List<SeriesPoint>(steps.Count);
        long cumulativeErrors = 0;
        double cumulativeDownSeconds = 0;
        for (var i = 0; i < steps.Count; i++)
        {
            var (start, end) = steps[i];
            var f = figures[i];
            cumulativeErrors += f.Errors;
            cumulativeDownSeconds += f.DownSeconds;
            if (start >= until)
            {
                break;
            }
            points.Add(new SeriesPoint(
                start, end, f.Requests, f.Errors,
                f.Requests == 0 ? null : 100.0 * f.Errors / f.Requests,
                f.P50, f.P95, f.P99,
                100.0 * (1 - (f.DownSeconds / (end - start).TotalSeconds)),
                f.DownSeconds,
                cumulativeErrors,
                allowedErrors <= 0 ? null : 100.0 * cumulativeErrors / allowedErrors,
                cumulativeDownSeconds / 60,
                allowedDowntimeMinutes <= 0 ? null : 100.0 * cumulativeDownSeconds / 60 / allowedDowntimeMinutes));
        }

        return new SlaSeries(service, endpoint, timeZone, step, from, to, until, targets, requests, errors,
            allowedErrors, allowedDowntimeMinutes, points, downtime) { Customer = customer };
    }

    /// <summary>Seconds of [start, end) covered by the sorted, disjoint downtime; steps come in order, so one pass.</summary>
    private static double DownSeconds(IReadOnlyList<DowntimeEvent> downtime, ref int index, DateTimeOffset start, DateTimeOffset end)
    {
        while (index < downtime.Count && downtime[index].End <= start)
        {
            index++;
        }
        double seconds = 0;
        for (var i = index; i < downtime.Count && downtime[i].Start < end; i++)
        {
            var from = downtime[i].Start > start ? downtime[i].Start : start;
            var to = downtime[i].End < end ? downtime[i].End : end;
            if (to > from)
            {
                seconds += (to - from).TotalSeconds;
            }
        }
        return seconds;
    }

    private static DateTimeOffset NextLocalHour(DateTimeOffset instant, TimeZoneInfo zone)
    {
        // The next instant whose local time is on the hour; recomputed each step, so a half-hour DST shift is followed.
        var local = TimeZoneInfo.ConvertTime(instant, zone);
        var intoHour = TimeSpan.FromTicks(local.TimeOfDay.Ticks % TimeSpan.TicksPerHour);
        return instant + (TimeSpan.FromHours(1) - intoHour);
    }

    private static DateTimeOffset NextLocalMidnight(DateTimeOffset instant, TimeZoneInfo zone)
    {
        var localDate = TimeZoneInfo.ConvertTime(instant, zone).Date.AddDays(1);
        // Where midnight does not exist (a DST jump at midnight), the day starts at the first valid minute.
        while (zone.IsInvalidTime(localDate))
        {
            localDate = localDate.AddMinutes(1);
        }
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(localDate, DateTimeKind.Unspecified), zone), TimeSpan.Zero);
    }
}
