using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;
using Shouldly;

namespace MaestroSla.Tests.Maintenance;

/// <summary>Occurrences of maintenance windows by RFC 5545, and uptime with them left out, on exact values.</summary>
public sealed class MaintenanceCalendarTests
{
    internal const string WeeklySundayBerlin =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:sunday\r\n" +
        "DTSTART;TZID=Europe/Berlin:20261004T020000\r\nDURATION:PT2H\r\nRRULE:FREQ=WEEKLY;BYDAY=SU\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    internal const string DailyWithExdate =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:nightly\r\nSUMMARY:nightly vacuum\r\n" +
        "DTSTART;TZID=America/New_York:20261001T220000\r\nDTEND;TZID=America/New_York:20261001T233000\r\n" +
        "RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE;TZID=America/New_York:20261003T220000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0) => new(2026, month, day, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public void a_weekly_window_keeps_its_local_start_and_exact_length_across_the_autumn_dst_change()
    {
        var occurrences = MaintenanceCalendar.Occurrences(WeeklySundayBerlin, Utc(10, 17, 0), Utc(11, 2, 0)).ToList();

        occurrences.ShouldBe(
        [
            new Interval(Utc(10, 18, 0), Utc(10, 18, 2)), // 02:00 CEST
            // 02:00 happens twice on 25 October; the first (CEST, +02:00) is meant, and two hours stay two hours.
            new Interval(Utc(10, 25, 0), Utc(10, 25, 2)),
            new Interval(Utc(11, 1, 1), Utc(11, 1, 3)),   // 02:00 CET
        ]);
    }

    [Fact]
    public void a_local_start_inside_the_spring_gap_moves_forward_by_the_gap()
    {
        const string gap = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:gap\r\n" +
            "DTSTART;TZID=Europe/Berlin:20260329T023000\r\nDURATION:PT1H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

        MaintenanceCalendar.Occurrences(gap, Utc(3, 1, 0), Utc(4, 1, 0)).ShouldBe([new Interval(Utc(3, 29, 1, 30), Utc(3, 29, 2, 30))]); // 03:30 CEST
    }

    [Fact]
    public void an_ics_with_exdate_skips_the_excluded_day_and_dtend_gives_the_length()
    {
        MaintenanceCalendar.Occurrences(DailyWithExdate, Utc(10, 1, 0), Utc(11, 1, 0)).ShouldBe(
        [
            new Interval(Utc(10, 2, 2), Utc(10, 2, 3, 30)), // 22:00 EDT
            new Interval(Utc(10, 3, 2), Utc(10, 3, 3, 30)),
            new Interval(Utc(10, 5, 2), Utc(10, 5, 3, 30)),
            new Interval(Utc(10, 6, 2), Utc(10, 6, 3, 30)),
        ]);
    }

    [Fact]
    public void an_occurrence_overlapping_the_start_of_the_range_is_listed_and_too_many_occurrences_are_refused()
    {
        MaintenanceCalendar.Occurrences(WeeklySundayBerlin, Utc(10, 18, 1), Utc(10, 19, 0)).ShouldBe([new Interval(Utc(10, 18, 0), Utc(10, 18, 2))]);

        const string everyMinute = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:busy\r\n" +
            "DTSTART:20261001T000000Z\r\nDURATION:PT30S\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        MaintenanceCalendar.Problem(MaintenanceCalendar.Parse(everyMinute).Calendar!)!.ShouldContain("more than 10,000 occurrences in a year");
        MaintenanceCalendar.Parse("hello").Problem!.ShouldContain("not an RFC 5545 calendar");
    }

    [Fact]
    public void adjusted_uptime_leaves_out_the_windows_and_only_the_downtime_outside_them_counts()
    {
        // October 2026 in Berlin: 31 days and the hour the clocks went back, 745 h.
        var from = Utc(9, 30, 22);
        var to = Utc(10, 31, 23);
        var windows = MaintenanceCalendar.Occurrences(WeeklySundayBerlin, from, to)
            .Select(i => new MaintenanceOccurrence("w", "billing", i.Start, i.End, "", "", "api")).ToList();
        windows.Count.ShouldBe(4); // Sundays 4, 11, 18 and 25 October, 2 h each, the last across the DST change
        var m = MaintenanceSchedule.Union(windows, from, to);
        // Down from 01:30 to 03:00 UTC on 25 October: the first 30 minutes inside the window (00:00–02:00 UTC).
        var d = DowntimeIntervals.MergeWithin([new Interval(Utc(10, 25, 1, 30), Utc(10, 25, 3))], from, to);

        var uptime = AdjustedUptime.Of(from, to, m, d);

        uptime.Period.ShouldBe(TimeSpan.FromHours(745));
        uptime.Maintenance.ShouldBe(TimeSpan.FromHours(8));
        uptime.Downtime.ShouldBe(TimeSpan.FromMinutes(90));
        uptime.CountedDowntime.ShouldBe(TimeSpan.FromMinutes(60));
        uptime.ExcludedDowntime.ShouldBe(TimeSpan.FromMinutes(30));
        uptime.RawPercent!.Value.ShouldBe(100.0 * (745 - 1.5) / 745, 1e-12);          // 99.79866 %
        uptime.AdjustedPercent!.Value.ShouldBe(100.0 * (737 - 1.0) / 737, 1e-12);     // (|P| − |M| − |D \ M|) / (|P| − |M|) = 99.86431 %
    }

    [Fact]
    public void downtime_minus_maintenance_cuts_each_interval_around_every_window()
    {
        var d = new List<Interval> { new(Utc(10, 1, 0), Utc(10, 1, 10)), new(Utc(10, 2, 0), Utc(10, 2, 1)) };
        var m = new List<Interval> { new(Utc(10, 1, 1), Utc(10, 1, 2)), new(Utc(10, 1, 5), Utc(10, 1, 6)), new(Utc(10, 1, 9), Utc(10, 2, 0, 30)) };

        AdjustedUptime.Minus(d, m).ShouldBe(
        [
            new Interval(Utc(10, 1, 0), Utc(10, 1, 1)),
            new Interval(Utc(10, 1, 2), Utc(10, 1, 5)),
            new Interval(Utc(10, 1, 6), Utc(10, 1, 9)),
            new Interval(Utc(10, 2, 0, 30), Utc(10, 2, 1)),
        ]);
        AdjustedUptime.Of(Utc(10, 1, 0), Utc(10, 1, 0), [], []).AdjustedPercent.ShouldBeNull();
    }
}
