using MaestroSla.Sla.Reports;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Trait("Category", "Unit")]
public sealed class ReportPeriodTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void a_month_in_a_time_zone_runs_from_local_midnight_to_local_midnight_across_a_dst_change()
    {
        var (period, problem) = ReportPeriod.Resolve("2026-10", null, null, "America/New_York", Now);

        problem.ShouldBeNull();
        period!.From.ShouldBe(new DateTimeOffset(2026, 10, 1, 4, 0, 0, TimeSpan.Zero)); // EDT, UTC-4
        period.To.ShouldBe(new DateTimeOffset(2026, 11, 1, 4, 0, 0, TimeSpan.Zero));    // DST ends later that night
        ReportPeriod.Resolve("2026-11", null, null, "America/New_York", Now).Period!.ScheduledTo // in progress at Now
            .ShouldBe(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));          // EST, UTC-5
    }

    [Fact]
    public void without_a_month_the_current_month_of_the_time_zone_is_meant()
    {
        var lateOnTheLastDayInTokyo = new DateTimeOffset(2026, 11, 30, 16, 0, 0, TimeSpan.Zero); // Dec 1, 01:00 in Tokyo

        var period = ReportPeriod.Resolve(null, null, null, "Asia/Tokyo", lateOnTheLastDayInTokyo).Period!;

        period.From.ShouldBe(new DateTimeOffset(2026, 11, 30, 15, 0, 0, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("2026-13", null, null, null, "month")]
    [InlineData(null, "2026-10-02", null, null, "both from and to")]
    [InlineData(null, "2026-10-02", "2026-10-01", null, "to after from")]
    [InlineData("2026-10", "2026-10-01", "2026-10-02", null, "either month or from/to")]
    [InlineData(null, null, null, "Mars/Olympus", "Unknown time zone")]
    public void what_cannot_be_a_period_is_refused_with_a_reason(string? month, string? from, string? to, string? zone, string reason)
    {
        var (period, problem) = ReportPeriod.Resolve(
            month,
            from is null ? null : DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture),
            to is null ? null : DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture),
            zone, Now);

        period.ShouldBeNull();
        problem!.ShouldContain(reason);
    }
}
