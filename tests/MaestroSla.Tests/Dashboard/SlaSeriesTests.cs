using System.Globalization;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Reports;
using MaestroSla.Contracts.Targets;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Series;
using MaestroSla.Sla.Targets;
using Shouldly;

namespace MaestroSla.Tests.Dashboard;

[Trait("Category", "Unit")]
public sealed class SlaSeriesTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, CultureInfo.InvariantCulture);

    [Fact]
    public void daily_steps_follow_local_midnights_so_the_dst_day_has_25_hours()
    {
        var (month, _) = ReportPeriod.Resolve("2026-10", null, null, "Europe/Berlin", At("2026-11-15T00:00:00Z"));

        var steps = SlaSeriesBuilder.Steps(month!.From, month.To, Berlin, SeriesStep.Day);

        steps.Count.ShouldBe(31);
        steps[0].Start.ShouldBe(At("2026-09-30T22:00:00Z"));
        steps[^1].End.ShouldBe(At("2026-10-31T23:00:00Z"));
        steps.Single(s => s.End - s.Start != TimeSpan.FromHours(24)).ShouldBe((At("2026-10-24T22:00:00Z"), At("2026-10-25T23:00:00Z")));
        for (var i = 1; i < steps.Count; i++)
        {
            steps[i].Start.ShouldBe(steps[i - 1].End);
        }
    }

    [Fact]
    public void hourly_steps_start_on_local_hours_even_where_the_offset_has_half_hours()
    {
        var kolkata = TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata");
        var from = At("2026-10-05T10:10:00Z"); // 15:40 in Kolkata
        var to = At("2026-10-05T13:00:00Z");

        var steps = SlaSeriesBuilder.Steps(from, to, kolkata, SeriesStep.Hour);

        steps.Select(s => s.Start).ShouldBe([from, At("2026-10-05T10:30:00Z"), At("2026-10-05T11:30:00Z"), At("2026-10-05T12:30:00Z")]);
        steps[^1].End.ShouldBe(to);
        // Off the UTC hour, a step is covered by minute rollups; on it, by one hour rollup.
        SlaSeriesBuilder.RollupSegments([steps[1]]).ShouldAllBe(s => s.Grain == RollupGrain.Minute);
        SlaSeriesBuilder.RollupSegments([steps[1]]).Count.ShouldBe(60);
        SlaSeriesBuilder.RollupSegments(SlaSeriesBuilder.Steps(At("2026-10-05T10:00:00Z"), At("2026-10-05T12:00:00Z"), Berlin, SeriesStep.Hour))
            .ShouldBe([(RollupGrain.Hour, At("2026-10-05T10:00:00Z")), (RollupGrain.Hour, At("2026-10-05T11:00:00Z"))], ignoreOrder: true);
    }

    [Fact]
    public void steps_merge_their_rollups_and_the_budgets_burn_to_the_reports_figures()
    {
        var (period, _) = ReportPeriod.Resolve("2026-10", null, null, "Europe/Berlin", At("2026-11-15T00:00:00Z"));
        var from = period!.From;
        var to = period.To;
        var targets = new SlaTargets { AvailabilityPercent = 99, UptimePercent = 99.5 };
        var random = new Random(5);

        // Hour rollups on three days; one hour's latencies are known exactly.
        var rollups = new List<LatencyRollup>();
        var all = new LatencyHistogram();
        long requests = 0, errors = 0;
        foreach (var day in new[] { 0, 10, 24 })
        {
            for (var hour = 0; hour < 24; hour++)
            {
                var start = from.AddDays(day).AddHours(hour);
                var histogram = new LatencyHistogram();
                var count = 50 + random.Next(50);
                for (var i = 0; i < count; i++)
                {
                    histogram.Record(day == 10 && hour == 3 ? (i + 1) * 1000 : 20_000 + random.Next(200_000));
                }
                var bad = hour % 7 == 0 ? 3 : 0;
                rollups.Add(Rollup(RollupGrain.Hour, start, count, bad, histogram));
                all.Add(histogram);
                requests += count;
                errors += bad;
            }
        }
        var downtime = new List<DowntimeRecorded>
        {
            new("svc", from.AddDays(2).AddHours(5).AddMinutes(50), from.AddDays(2).AddHours(6).AddMinutes(20), "deploy"),
            new("svc", from.AddDays(20).AddHours(1), from.AddDays(20).AddHours(1).AddMinutes(7), "db"),
        };
        var report = SlaReportBuilder.Assemble("svc", null, "Europe/Berlin", from, to, null, 1, new EffectiveTargets(targets, "test"),
            requests, errors, all, downtime, []);

        var hourly = SlaSeriesBuilder.Steps(from, to, Berlin, SeriesStep.Hour);
        var series = SlaSeriesBuilder.Build("svc", null, "Europe/Berlin", SeriesStep.Hour, from, to, to.AddDays(30), targets, hourly, rollups, report.DowntimeEvents);

        series.Points.Count.ShouldBe(31 * 24 + 1);
        series.Requests.ShouldBe(report.Requests.Total);
        series.Points.Sum(p => p.Requests).ShouldBe(report.Requests.Total);
        series.Points.Sum(p => p.Errors).ShouldBe(report.Requests.Errors);
        var known = series.Points.Single(p => p.Start == from.AddDays(10).AddHours(3));
        // Recorded 1, 2, 3, … ms: the percentile is its rank (HdrHistogram's nearest rank, within 0.1 %).
        foreach (var (percentile, actual) in new[] { (95.0, known.P95Ms), (99.0, known.P99Ms) })
        {
            var rank = Math.Max(1, (long)((percentile / 100 * known.Requests) + 0.5));
            actual!.Value.ShouldBe(rank, (rank * 0.001) + 0.001, $"P{percentile}");
        }
        series.Points.First(p => p.Requests == 0).P95Ms.ShouldBeNull();
        series.Points.First(p => p.Requests == 0).ErrorRatePercent.ShouldBeNull();

        // Downtime split over the steps it touches, to the second.
        series.Points.Single(p => p.Start == from.AddDays(2).AddHours(5)).DowntimeSeconds.ShouldBe(600);
        series.Points.Single(p => p.Start == from.AddDays(2).AddHours(6)).DowntimeSeconds.ShouldBe(1200);
        series.Points.Single(p => p.Start == from.AddDays(2).AddHours(6)).UptimePercent.ShouldBe(100.0 * 2400 / 3600, 1e-9);
        series.Points.Sum(p => p.DowntimeSeconds).ShouldBe(report.Uptime.Downtime.TotalSeconds);

        // The last point of the month is the report's budgets.
        series.ErrorBudgetAllowed.ShouldBe(report.ErrorBudget.Allowed, 1e-9);
        series.Points[^1].ErrorBudgetConsumedPercent!.Value.ShouldBe(report.ErrorBudget.ConsumedPercent!.Value, 1e-9);
        series.Points[^1].DowntimeBudgetConsumedPercent!.Value.ShouldBe(report.DowntimeBudget.ConsumedPercent!.Value, 1e-9);
        series.Points.Select(p => p.CumulativeErrors).ShouldBeInOrder(SortDirection.Ascending);

        // Daily steps give the same totals; steps from "until" on (the rest of the current month) are left out.
        var daily = SlaSeriesBuilder.Build("svc", null, "Europe/Berlin", SeriesStep.Day, from, to, from.AddDays(15).AddHours(1), targets,
            SlaSeriesBuilder.Steps(from, to, Berlin, SeriesStep.Day), rollups, report.DowntimeEvents);
        daily.Points.Count.ShouldBe(16);
        daily.Requests.ShouldBe(report.Requests.Total);
        daily.Points[10].Requests.ShouldBe(series.Points.Where(p => p.Start >= from.AddDays(10) && p.Start < from.AddDays(11)).Sum(p => p.Requests));
    }

    private static LatencyRollup Rollup(RollupGrain grain, DateTimeOffset start, long requests, long errors, LatencyHistogram histogram) => new()
    {
        Id = LatencyRollup.IdFor("svc", LatencyRollup.AllEndpoints, grain, start),
        Service = "svc",
        Endpoint = LatencyRollup.AllEndpoints,
        Grain = grain,
        Start = start,
        Requests = requests,
        Errors = errors,
        Latency = histogram.Encode(),
    };
}
