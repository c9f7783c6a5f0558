using System.Globalization;
using MaestroSla.Projections.Maintenance;
using Marten;

namespace MaestroSla.Local.Demo;

/// <summary>
/// The demo's maintenance: checkout is patched every Sunday 02:00–03:00 Berlin time, so its reports show uptime with
/// the windows left out beside the raw figure. Scheduled once per demo database (the stream is the record of it).
/// </summary>
public static class DemoMaintenance
{
    public const string Service = "checkout";

    public static async Task ScheduleAsync(IDocumentStore store, DateTimeOffset monthStart, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var stream = MaintenanceSchedule.For(Service);
        if ((await session.Events.FetchStreamStateAsync(stream, ct)) is not null)
        {
            return;
        }
        var firstSunday = monthStart.UtcDateTime.Date;
        while (firstSunday.DayOfWeek != DayOfWeek.Sunday)
        {
            firstSunday = firstSunday.AddDays(1);
        }
        var calendar =
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MaestroSla//demo//EN\r\nBEGIN:VEVENT\r\nUID:window\r\n" +
            $"DTSTART;TZID=Europe/Berlin:{firstSunday.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}T020000\r\n" +
            "DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;BYDAY=SU\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        session.Events.Append(stream, new MaintenanceScheduled("demo-sunday-patching", Service, calendar, "weekly patching", "demo"));
        await session.SaveChangesAsync(ct);
    }
}
