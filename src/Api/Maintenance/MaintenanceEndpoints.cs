using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Ical.Net.DataTypes;
using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Sla.Reports;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Maintenance;

public sealed record MaintenanceCreated(string Id, string Service, IReadOnlyList<MaintenanceOccurrence> NextOccurrences);

public sealed record CalendarImported(string Service, int Windows, IReadOnlyList<MaintenanceOccurrence> NextOccurrences);

/// <summary>
/// Maintenance windows as events, per service: scheduled (one-off or recurring), cancelled, or imported from a team's
/// RFC 5545 calendar. Writes need the admin role (ApiAccess: every non-GET under /api); the author is the key's name.
/// Bad input is a 400 naming the field, and nothing is stored.
/// </summary>
public static class MaintenanceEndpoints
{
    private const int MaxCalendarBytes = 1024 * 1024;

    /// <summary>
    /// One-off: {"service","start","end","reason"} with instants. Recurring: {"service","start" (local, no offset),
    /// "timeZone","duration" (ISO 8601, exact),"rrule","exdate":[local times],"reason"}.
    /// </summary>
    [WolverinePost("/api/maintenance")]
    public static async Task<IResult> Schedule(
        HttpRequest request, ClaimsPrincipal user, IDocumentSession session, IOptions<ContractLimits> limits, TimeProvider time, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, default, ct);
        }
        catch (JsonException ex)
        {
            return Invalid("body", $"is not valid JSON: {ex.Message}");
        }
        using (document)
        {
            var (window, field, problem) = ParseWindow(document.RootElement, limits.Value);
            if (window is null)
            {
                return Invalid(field!, problem!);
            }
            var (calendar, _) = MaintenanceCalendar.Parse(window.Calendar);
            if (MaintenanceCalendar.Problem(calendar!) is { } calendarProblem)
            {
                var where = calendarProblem.Contains("end after", StringComparison.Ordinal)
                    ? window.Calendar.Contains("DURATION", StringComparison.Ordinal) ? "duration" : "end"
                    : calendarProblem.Contains("occurrences", StringComparison.Ordinal) ? "rrule" : "start";
                return Invalid(where, calendarProblem);
            }
            var id = Guid.NewGuid().ToString("N")[..16];
            session.Events.Append(MaintenanceSchedule.For(window.Service),
                new MaintenanceScheduled(id, window.Service, window.Calendar, window.Reason, user.Identity?.Name ?? "anonymous"));
            await session.SaveChangesAsync(ct);
            var now = time.GetUtcNow();
            var next = MaintenanceSchedule.Occurrences([new MaintenanceWindow(id, window.Service, window.Calendar, window.Reason, "", "api")], now, now.AddYears(1)).Take(5).ToList();
            return Results.Created($"/api/maintenance/{id}", new MaintenanceCreated(id, window.Service, next));
        }
    }

    /// <summary>Cancels a window from now on (another event: reports as of earlier still apply it).</summary>
    [WolverineDelete("/api/maintenance/{id}")]
    public static async Task<IResult> Cancel(string id, ClaimsPrincipal user, IDocumentSession session, CancellationToken ct)
    {
        var scheduled = await session.Events.QueryRawEventDataOnly<MaintenanceScheduled>().Where(e => e.Id == id).FirstOrDefaultAsync(ct);
        if (scheduled is null)
        {
            return Results.Problem(title: $"No maintenance window '{ReportPeriod.Shorten(id)}'", statusCode: StatusCodes.Status404NotFound);
        }
        var windows = await MaintenanceSchedule.WindowsAsync(session, scheduled.Service, null, ct);
        if (!windows.Any(w => w.Id == id))
        {
            return Results.Problem(title: $"Maintenance window '{id}' is already cancelled", statusCode: StatusCodes.Status409Conflict);
        }
        session.Events.Append(MaintenanceSchedule.For(scheduled.Service), new MaintenanceCancelled(id, scheduled.Service, user.Identity?.Name ?? "anonymous"));
        await session.SaveChangesAsync(ct);
        return Results.NoContent();
    }

    /// <summary>Replaces the service's calendar-imported windows with the VEVENTs of a text/calendar body.</summary>
    [WolverinePut("/api/maintenance/{service}/calendar")]
    public static async Task<IResult> ImportCalendar(
        string service, HttpRequest request, ClaimsPrincipal user, IDocumentSession session, IOptions<ContractLimits> limits, TimeProvider time,
        CancellationToken ct)
    {
        if (ReportNames.Problem(service, "service", limits.Value.MaxNameLength) is { } nameProblem)
        {
            return Invalid("service", nameProblem);
        }
        if (request.ContentType is not { } type || !type.StartsWith("text/calendar", StringComparison.OrdinalIgnoreCase))
        {
            return Results.Problem(title: "The body must be text/calendar (RFC 5545)", statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        var buffer = new byte[MaxCalendarBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), ct)) > 0)
        {
            length += read;
        }
        if (length > MaxCalendarBytes)
        {
            return Invalid("calendar", $"is larger than {MaxCalendarBytes / 1024} KiB");
        }
        var text = Encoding.UTF8.GetString(buffer, 0, length);
        var (calendar, problem) = MaintenanceCalendar.Parse(text);
        if (calendar is null)
        {
            return Invalid("calendar", problem!);
        }
        if (MaintenanceCalendar.Problem(calendar) is { } calendarProblem)
        {
            return Invalid("calendar", calendarProblem);
        }
        session.Events.Append(MaintenanceSchedule.For(service), new MaintenanceCalendarImported(service, text, user.Identity?.Name ?? "anonymous"));
        await session.SaveChangesAsync(ct);
        var now = time.GetUtcNow();
        var imported = MaintenanceSchedule.FromCalendar(new MaintenanceCalendarImported(service, text, ""));
        return Results.Ok(new CalendarImported(service, imported.Count, MaintenanceSchedule.Occurrences(imported, now, now.AddYears(1)).Take(10).ToList()));
    }

    /// <summary>
    /// The occurrences of a service's windows overlapping a month in a time zone (?month=2026-10&amp;tz=Europe/Berlin;
    /// the current month, whole, when omitted) or a range (?from=&amp;to=), as of ?asOf.
    /// </summary>
    [WolverineGet("/api/maintenance")]
    public static async Task<IResult> List(
        string? service, string? month, string? tz, DateTimeOffset? from, DateTimeOffset? to, DateTimeOffset? asOf, IQuerySession session,
        IOptions<ContractLimits> limits, IOptions<ReportOptions> options, TimeProvider time, CancellationToken ct)
    {
        if (ReportNames.Problem(service, "service", limits.Value.MaxNameLength) is { } nameProblem)
        {
            return Invalid("service", nameProblem);
        }
        if (ReportPeriod.InstantProblem("asOf", asOf) is { } instant)
        {
            return Invalid("asOf", instant);
        }
        var (period, problem) = ReportPeriod.Resolve(string.IsNullOrEmpty(month) ? null : month, from, to, tz, time.GetUtcNow(), options.Value.MaxRange);
        if (period is null)
        {
            return Results.Problem(ReportQuery.BadRequest(problem!));
        }
        var windows = await MaintenanceSchedule.WindowsAsync(session, service!, asOf, ct);
        // Windows are planned ahead: the whole period, not only its elapsed part.
        return Results.Ok(MaintenanceSchedule.Occurrences(windows, period.From, period.ScheduledTo ?? period.To));
    }

    private static IResult Invalid(string field, string problem) =>
        Results.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [$"{field} {problem}"] },
            title: $"{field} {problem}; nothing was stored");

    private sealed record ParsedWindow(string Service, string Calendar, string Reason);

    private static (ParsedWindow? Window, string? Field, string? Problem) ParseWindow(JsonElement root, ContractLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, "body", "must be a JSON object");
        }
        string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        bool Present(string name) => root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null;

        var service = Text("service");
        if (ReportNames.Problem(service, "service", limits.MaxNameLength) is { } nameProblem)
        {
            return (null, "service", nameProblem.StartsWith("service ", StringComparison.Ordinal) ? nameProblem["service ".Length..] : nameProblem);
        }
        var reason = Text("reason") ?? "";
        if (reason.Length > 500 || reason.Any(char.IsControl))
        {
            return (null, "reason", "must be at most 500 characters without control characters");
        }
        var startText = Text("start");
        if (startText is null)
        {
            return (null, "start", "is required");
        }

        var recurring = Present("timeZone") || Present("rrule") || Present("duration");
        if (!recurring)
        {
            if (!DateTimeOffset.TryParse(startText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var start) || !HasOffset(startText))
            {
                return (null, "start", "must be an instant with an offset, e.g. 2026-10-04T02:00:00Z (or give timeZone for a local time)");
            }
            if (Text("end") is not { } endText || !DateTimeOffset.TryParse(endText, CultureInfo.InvariantCulture, DateTimeStyles.None, out var end) || !HasOffset(endText))
            {
                return (null, "end", "must be an instant with an offset, e.g. 2026-10-04T04:00:00Z");
            }
            if (end <= start)
            {
                return (null, "end", "must be after start");
            }
            if ((ReportPeriod.InstantProblem("start", start) ?? ReportPeriod.InstantProblem("end", end)) is { } range)
            {
                return (null, range.Split(' ')[0], range[(range.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
            }
            return (new ParsedWindow(service!, Vevent($"DTSTART:{Utc(start)}", $"DTEND:{Utc(end)}"), reason), null, null);
        }

        var zoneId = Text("timeZone");
        if (zoneId is null)
        {
            return (null, "timeZone", "is required for a local start (an IANA name such as Europe/Berlin)");
        }
        if (!KnownZone(zoneId))
        {
            return (null, "timeZone", $"'{ReportPeriod.Shorten(zoneId)}' is not a known time zone (use an IANA name such as Europe/Berlin)");
        }
        if (HasOffset(startText) || !DateTime.TryParseExact(startText, ["yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return (null, "start", "must be a local time without offset with timeZone, e.g. 2026-10-04T02:00:00");
        }
        if (local.Year < ReportPeriod.Earliest.Year || local.Year >= ReportPeriod.Latest.Year)
        {
            return (null, "start", "is out of range");
        }
        var durationText = Text("duration");
        if (durationText is null || durationText.Length > 40 || durationText.Any(c => !char.IsAsciiLetterOrDigit(c))
            || Duration.Parse(durationText) is not { Sign: > 0 })
        {
            return (null, "duration", "must be an ISO 8601 duration such as PT2H");
        }
        var lines = new List<string> { $"DTSTART;TZID={zoneId}:{Local(local)}", $"DURATION:{durationText}" };
        if (Text("rrule") is { } rrule)
        {
            if (rrule.Length > 500 || rrule.Any(char.IsControl))
            {
                return (null, "rrule", "must be one RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=SU");
            }
            try
            {
                _ = new RecurrencePattern(rrule);
            }
            catch (ArgumentException ex)
            {
                return (null, "rrule", $"is not an RFC 5545 RRULE: {ex.Message}");
            }
            lines.Add($"RRULE:{rrule}");
        }
        else if (Present("rrule"))
        {
            return (null, "rrule", "must be a string");
        }
        if (root.TryGetProperty("exdate", out var exdates) && exdates.ValueKind != JsonValueKind.Null)
        {
            if (exdates.ValueKind != JsonValueKind.Array)
            {
                return (null, "exdate", "must be a list of local times");
            }
            foreach (var exdate in exdates.EnumerateArray())
            {
                if (exdate.ValueKind != JsonValueKind.String
                    || !DateTime.TryParseExact(exdate.GetString(), ["yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var excluded))
                {
                    return (null, "exdate", "must be a list of local times without offset, e.g. [\"2026-10-11T02:00:00\"]");
                }
                lines.Add($"EXDATE;TZID={zoneId}:{Local(excluded)}");
            }
        }
        var calendar = Vevent([.. lines]);
        var (parsed, problem) = MaintenanceCalendar.Parse(calendar);
        return parsed is null ? (null, "rrule", problem) : (new ParsedWindow(service!, calendar, reason), null, null);
    }

    private static bool KnownZone(string id)
    {
        try
        {
            // Ical.Net resolves TZIDs through NodaTime's tz database; the same name must work there.
            _ = new CalDateTime(2026, 1, 1, 0, 0, 0, id).AsUtc;
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':');

    private static string Utc(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    private static string Local(DateTime local) => local.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);

    private static string Vevent(params string[] lines) =>
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//MaestroSla//maintenance//EN\r\nBEGIN:VEVENT\r\nUID:window\r\n" +
        string.Concat(lines.Select(l => l + "\r\n")) + "END:VEVENT\r\nEND:VCALENDAR\r\n";
}
