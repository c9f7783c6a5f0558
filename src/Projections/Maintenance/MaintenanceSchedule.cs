using JasperFx.Events;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections.Maintenance;

/// <summary>A window in force: Source is "api" (POST /api/maintenance) or "calendar" (the imported calendar).</summary>
public sealed record MaintenanceWindow(string Id, string Service, string Calendar, string Reason, string Author, string Source);

/// <summary>A service's maintenance windows, folded from its stream (as of a moment, for reports as of then).</summary>
public static class MaintenanceSchedule
{
    // '|' never occurs in a service name (the wire contract refuses it), so these keys cannot clash with services.
    public static string For(string service) => $"maintenance|{service}";

    public static StoreOptions ConfigureMaintenance(this StoreOptions options)
    {
        options.Events.MapEventType<MaintenanceScheduled>("maintenance_scheduled");
        options.Events.MapEventType<MaintenanceCancelled>("maintenance_cancelled");
        options.Events.MapEventType<MaintenanceCalendarImported>("maintenance_calendar_imported");
        return options;
    }

    public static async Task<IReadOnlyList<MaintenanceWindow>> WindowsAsync(
        IQuerySession session, string service, DateTimeOffset? asOf, CancellationToken ct) =>
        Fold(await session.Events.FetchStreamAsync(For(service), timestamp: asOf, token: ct));

    public static IReadOnlyList<MaintenanceWindow> Fold(IReadOnlyList<IEvent> events)
    {
        var windows = new List<MaintenanceWindow>();
        foreach (var @event in events)
        {
            switch (@event.Data)
            {
                case MaintenanceScheduled scheduled:
                    windows.Add(new MaintenanceWindow(scheduled.Id, scheduled.Service, scheduled.Calendar, scheduled.Reason, scheduled.Author, "api"));
                    break;
                case MaintenanceCancelled cancelled:
                    windows.RemoveAll(w => w.Id == cancelled.Id);
                    break;
                case MaintenanceCalendarImported imported:
                    windows.RemoveAll(w => w.Source == "calendar");
                    windows.AddRange(FromCalendar(imported));
                    break;
            }
        }
        return windows;
    }

    /// <summary>The windows of an imported calendar, one per VEVENT (id calendar:UID, reason its SUMMARY).</summary>
    public static List<MaintenanceWindow> FromCalendar(MaintenanceCalendarImported imported)
    {
        var windows = new List<MaintenanceWindow>();
        if (MaintenanceCalendar.Parse(imported.Calendar).Calendar is not { } calendar)
        {
            return windows;
        }
        var serializer = new Ical.Net.Serialization.CalendarSerializer();
        foreach (var vevent in calendar.Events)
        {
            var single = new Ical.Net.Calendar();
            single.Events.Add(vevent);
            windows.Add(new MaintenanceWindow(
                $"calendar:{vevent.Uid}", imported.Service, serializer.SerializeToString(single) ?? "", vevent.Summary ?? "", imported.Author, "calendar"));
        }
        return windows;
    }

    /// <summary>Every occurrence overlapping [from, to), clipped to nothing: as the windows define them.</summary>
    public static List<MaintenanceOccurrence> Occurrences(IEnumerable<MaintenanceWindow> windows, DateTimeOffset from, DateTimeOffset to)
    {
        var occurrences = new List<MaintenanceOccurrence>();
        foreach (var window in windows)
        {
            foreach (var interval in MaintenanceCalendar.Occurrences(window.Calendar, from, to))
            {
                occurrences.Add(new MaintenanceOccurrence(window.Id, window.Service, interval.Start, interval.End, window.Reason, window.Author, window.Source));
            }
        }
        occurrences.Sort((a, b) => a.Start.CompareTo(b.Start));
        return occurrences;
    }

    /// <summary>M of the adjusted figures: the union of the occurrences, clipped to [from, to).</summary>
    public static List<Interval> Union(IEnumerable<MaintenanceOccurrence> occurrences, DateTimeOffset from, DateTimeOffset to) =>
        DowntimeIntervals.MergeWithin(occurrences.Select(o => new Interval(o.Start, o.End)), from, to);
}
