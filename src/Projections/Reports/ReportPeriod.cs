using System.Globalization;

namespace MaestroSla.Projections.Reports;

/// <summary>[From, To) in UTC for a calendar month in a time zone, or an explicit range.</summary>
public sealed record ReportPeriod(DateTimeOffset From, DateTimeOffset To, string TimeZone)
{
    /// <summary>Resolves what an analyst asked for, or says why it cannot.</summary>
    public static (ReportPeriod? Period, string? Problem) Resolve(string? month, DateTimeOffset? from, DateTimeOffset? to, string? timeZone, DateTimeOffset now)
    {
        TimeZoneInfo zone;
        try
        {
            zone = string.IsNullOrWhiteSpace(timeZone) ? TimeZoneInfo.Utc : TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (TimeZoneNotFoundException)
        {
            return (null, $"Unknown time zone '{timeZone}' (use an IANA name such as Europe/Berlin)");
        }

        if (from is not null || to is not null)
        {
            if (month is not null)
            {
                return (null, "Give either month or from/to, not both");
            }
            if (from is null || to is null || to <= from)
            {
                return (null, "Give both from and to, with to after from");
            }
            return (new ReportPeriod(from.Value.ToUniversalTime(), to.Value.ToUniversalTime(), zone.Id), null);
        }

        DateTime firstDay;
        if (month is null)
        {
            var local = TimeZoneInfo.ConvertTime(now, zone);
            firstDay = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        }
        else if (!DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out firstDay))
        {
            return (null, $"month must look like 2026-10, not '{month}'");
        }
        return (new ReportPeriod(StartOfLocalDay(firstDay, zone), StartOfLocalDay(firstDay.AddMonths(1), zone), zone.Id), null);
    }

    private static DateTimeOffset StartOfLocalDay(DateTime localMidnight, TimeZoneInfo zone)
    {
        // Where midnight does not exist (a DST jump at midnight), the day starts at the first valid minute.
        var local = localMidnight;
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero);
    }
}
