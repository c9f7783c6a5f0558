using MaestroSla.Projections.Latency;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Trait("Category", "Unit")]
public sealed class RollupPlanTests
{
    private static DateTimeOffset At(string utc) => DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void a_window_is_covered_by_days_inside_hours_at_the_edges_and_minutes_at_the_outer_edges()
    {
        var from = At("2026-10-01T22:30:00Z");
        var to = At("2026-10-04T01:15:00Z");

        var plan = RollupPlan.Cover(from, to);

        plan.Count(s => s.Grain == RollupGrain.Day).ShouldBe(2);      // Oct 2 and 3
        plan.Count(s => s.Grain == RollupGrain.Hour).ShouldBe(1 + 1);  // 23:00 on Oct 1, 00:00 on Oct 4
        plan.Count(s => s.Grain == RollupGrain.Minute).ShouldBe(30 + 15);
        plan.Sum(s => LatencyRollup.Length(s.Grain).TotalMinutes).ShouldBe((to - from).TotalMinutes);
    }

    [Fact]
    public void consecutive_segments_tile_the_window_without_gaps_or_overlaps()
    {
        var from = At("2026-09-30T23:59:00Z");
        var to = At("2026-11-01T00:01:00Z");

        var plan = RollupPlan.Cover(from, to);

        var cursor = from;
        foreach (var (grain, start) in plan)
        {
            start.ShouldBe(cursor);
            cursor = start + LatencyRollup.Length(grain);
        }
        cursor.ShouldBe(to);
        plan.Count.ShouldBe(1 + 31 + 1);
    }

    [Fact]
    public void window_edges_inside_a_minute_widen_to_whole_minutes()
    {
        var plan = RollupPlan.Cover(At("2026-10-01T10:00:30Z"), At("2026-10-01T10:02:10Z"));

        plan.ShouldBe([(RollupGrain.Minute, At("2026-10-01T10:00:00Z")), (RollupGrain.Minute, At("2026-10-01T10:01:00Z")), (RollupGrain.Minute, At("2026-10-01T10:02:00Z"))]);
    }

    [Fact]
    public void a_whole_utc_month_is_read_as_its_month_rollup()
    {
        RollupPlan.CoverWithMonths(At("2026-11-01T00:00:00Z"), At("2026-12-01T00:00:00Z"))
            .ShouldBe([new RollupSegment(RollupGrain.Month, At("2026-11-01T00:00:00Z"), Subtracted: false)]);
    }

    [Fact]
    public void a_month_in_another_zone_is_the_utc_month_less_the_hours_before_it_plus_the_hours_after_it()
    {
        // November in America/New_York: 04:00 UTC on the 1st (EDT) to 05:00 UTC on December 1st (EST).
        var from = At("2026-11-01T04:00:00Z");
        var to = At("2026-12-01T05:00:00Z");

        var plan = RollupPlan.CoverWithMonths(from, to);

        plan[0].ShouldBe(new RollupSegment(RollupGrain.Month, At("2026-11-01T00:00:00Z"), Subtracted: false));
        plan.Where(s => s.Subtracted).ShouldBe(Enumerable.Range(0, 4).Select(h => new RollupSegment(RollupGrain.Hour, At("2026-11-01T00:00:00Z").AddHours(h), true)));
        plan.Where(s => !s.Subtracted).Skip(1).ShouldBe(Enumerable.Range(0, 5).Select(h => new RollupSegment(RollupGrain.Hour, At("2026-12-01T00:00:00Z").AddHours(h), false)));
        Minutes(plan).ShouldBe((to - from).TotalMinutes);
    }

    [Fact]
    public void a_month_is_taken_only_when_it_reads_fewer_documents_and_nothing_but_hours_and_days_are_taken_away()
    {
        // An odd week: the month less what lies outside it would take more documents than the week's own.
        var week = RollupPlan.CoverWithMonths(At("2026-11-10T07:13:00Z"), At("2026-11-17T12:54:00Z"));
        week.ShouldAllBe(s => s.Grain != RollupGrain.Month && !s.Subtracted);
        // India is 5:30 ahead of UTC: its month's edges fall inside UTC hours, and minutes are never taken away.
        var india = RollupPlan.CoverWithMonths(At("2026-10-31T18:30:00Z"), At("2026-11-30T18:30:00Z"));
        india.ShouldAllBe(s => s.Grain != RollupGrain.Month && !s.Subtracted);
        RollupPlan.Cover(At("2026-10-31T18:30:00Z"), At("2026-11-30T18:30:00Z")).Count.ShouldBe(india.Count);
        // A quarter: three months, the edges of the window on month boundaries.
        var quarter = RollupPlan.CoverWithMonths(At("2026-10-01T00:00:00Z"), At("2027-01-01T00:00:00Z"));
        quarter.Select(s => (s.Grain, s.Start.Month)).ShouldBe([(RollupGrain.Month, 10), (RollupGrain.Month, 11), (RollupGrain.Month, 12)]);
    }

    /// <summary>Minutes a plan counts: what it adds less what it takes away.</summary>
    private static double Minutes(List<RollupSegment> plan) =>
        plan.Sum(s => (s.Subtracted ? -1 : 1) * (LatencyRollup.EndOf(s.Grain, s.Start) - s.Start).TotalMinutes);
}
