namespace MaestroSla.Projections.Maintenance;

/// <summary>
/// A maintenance window of a service, as one RFC 5545 VEVENT (DTSTART with TZID or in UTC, DURATION or DTEND, RRULE,
/// EXDATE): a one-off window and a recurring one are read by the same rules. Windows are never deleted.
/// </summary>
public sealed record MaintenanceScheduled(string Id, string Service, string Calendar, string Reason, string Author);

/// <summary>The window stops applying from now on; reports as of an earlier moment still apply it.</summary>
public sealed record MaintenanceCancelled(string Id, string Service, string Author);

/// <summary>A team's maintenance calendar (RFC 5545 text), replacing the service's previously imported one.</summary>
public sealed record MaintenanceCalendarImported(string Service, string Calendar, string Author);
