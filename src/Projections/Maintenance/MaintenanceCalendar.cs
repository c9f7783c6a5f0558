using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Uptime;

namespace MaestroSla.Projections.Maintenance;

/// <summary>
/// RFC 5545 arithmetic, by Ical.Net (which resolves zones through NodaTime's tz database): a local start that does not
/// exist (a DST gap) moves forward by the gap, an ambiguous one is its first occurrence. The duration is exact
/// (DURATION's days and weeks as 24-hour days; DTEND − DTSTART as elapsed time), so a two-hour window lasts two hours
/// on the night the clocks change too.
/// </summary>
public static class MaintenanceCalendar
{
    /// <summary>More occurrences than this in the year after a window's start is refused as a mistake.</summary>
    public const int MaxOccurrencesPerYear = 10_000;

    /// <summary>Parses RFC 5545 text; null with the reason when it is not a calendar.</summary>
    public static (Calendar? Calendar, string? Problem) Parse(string text)
    {
        try
        {
            var calendar = Calendar.Load(text);
            return calendar is null ? (null, "is not an RFC 5545 calendar (BEGIN:VCALENDAR … END:VCALENDAR)") : (calendar, null);
        }
        catch (Exception ex) when (ex is System.Runtime.Serialization.SerializationException or ArgumentException or FormatException)
        {
            return (null, $"is not an RFC 5545 calendar: {ex.Message}");
        }
    }

    /// <summary>Why a calendar's windows cannot be used (no start, no length, unknown zone, too many occurrences), or null.</summary>
    public static string? Problem(Calendar calendar)
    {
        foreach (var vevent in calendar.Events)
        {
            var name = string.IsNullOrEmpty(vevent.Uid) ? "a VEVENT" : $"VEVENT {vevent.Uid}";
            if (vevent.DtStart is null)
            {
                return $"{name} has no DTSTART";
            }
            try
            {
                if (LengthOf(vevent) <= TimeSpan.Zero)
                {
                    return $"{name} must end after it starts (DTEND or DURATION)";
                }
                var first = vevent.DtStart.AsUtc;
                var count = Expand(vevent, new DateTimeOffset(first, TimeSpan.Zero), new DateTimeOffset(first, TimeSpan.Zero).AddYears(1))
                    .Take(MaxOccurrencesPerYear + 1)
                    .Count();
                if (count > MaxOccurrencesPerYear)
                {
                    return $"{name} has more than {MaxOccurrencesPerYear:N0} occurrences in a year";
                }
            }
            catch (ArgumentException ex)
            {
                // Ical.Net reports an unknown TZID (and rule values it cannot evaluate) this way.
                return $"{name}: {ex.Message}";
            }
        }
        return null;
    }

    /// <summary>The occurrences of a calendar's windows that overlap [from, to), by start.</summary>
    public static IEnumerable<Interval> Occurrences(Calendar calendar, DateTimeOffset from, DateTimeOffset to) =>
        calendar.Events.SelectMany(e => Expand(e, from, to)).OrderBy(i => i.Start);

    public static IEnumerable<Interval> Occurrences(string text, DateTimeOffset from, DateTimeOffset to) =>
        Parse(text).Calendar is { } calendar ? Occurrences(calendar, from, to) : [];

    private static IEnumerable<Interval> Expand(CalendarEvent vevent, DateTimeOffset from, DateTimeOffset to)
    {
        var length = LengthOf(vevent);
        var searchFrom = from.UtcDateTime - length;
        var until = new CalDateTime(to.UtcDateTime, "UTC");
        foreach (var occurrence in vevent.GetOccurrences(new CalDateTime(searchFrom, "UTC")).TakeWhileBefore(until))
        {
            var start = new DateTimeOffset(DateTime.SpecifyKind(occurrence.Period.StartTime.AsUtc, DateTimeKind.Utc));
            var end = start + length;
            if (end > from && start < to)
            {
                yield return new Interval(start, end);
            }
        }
    }

    /// <summary>Exact length: DURATION (days and weeks as 24 hours), else DTEND − DTSTART as elapsed time, else a day for a date.</summary>
    public static TimeSpan LengthOf(CalendarEvent vevent)
    {
        if (vevent.Duration is { } duration)
        {
            var exact = TimeSpan.FromDays((7 * (duration.Weeks ?? 0)) + (duration.Days ?? 0))
                + new TimeSpan(duration.Hours ?? 0, duration.Minutes ?? 0, duration.Seconds ?? 0);
            return duration.Sign < 0 ? -exact : exact;
        }
        if (vevent.DtEnd is { } end)
        {
            return end.AsUtc - vevent.DtStart!.AsUtc;
        }
        return vevent.DtStart is { HasTime: false } ? TimeSpan.FromDays(1) : TimeSpan.Zero;
    }
}
