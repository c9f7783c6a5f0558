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
}
