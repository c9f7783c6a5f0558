using MaestroSla.Projections.Uptime;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Trait("Category", "Unit")]
public sealed class DowntimeIntervalsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private static Interval Minutes(int from, int to) => new(T0.AddMinutes(from), T0.AddMinutes(to));

    [Fact]
    public void overlapping_and_adjacent_intervals_merge_and_count_once()
    {
        var merged = DowntimeIntervals.MergeWithin([Minutes(10, 20), Minutes(15, 25), Minutes(25, 30), Minutes(40, 41)], T0, T0.AddHours(1));

        merged.ShouldBe([Minutes(10, 30), Minutes(40, 41)]);
        DowntimeIntervals.Total(merged).ShouldBe(TimeSpan.FromMinutes(21));
    }

    [Fact]
    public void intervals_are_clipped_to_the_period_and_those_outside_it_vanish()
    {
        var merged = DowntimeIntervals.MergeWithin([Minutes(-30, 5), Minutes(55, 90), Minutes(100, 110), Minutes(-20, -10)], T0, T0.AddHours(1));

        merged.ShouldBe([Minutes(0, 5), Minutes(55, 60)]);
    }

    [Fact]
    public void an_interval_contained_in_another_adds_nothing()
    {
        var merged = DowntimeIntervals.MergeWithin([Minutes(0, 30), Minutes(5, 6)], T0, T0.AddHours(1));

        merged.ShouldBe([Minutes(0, 30)]);
    }
}
