using System.Globalization;
using MaestroSla.Contracts.Reports;

namespace MaestroSla.Sla.Reports;

/// <summary>
/// [From, To) in UTC for a calendar month in a time zone, or an explicit range. A period that has not ended yet is
/// partial: To is the end of the current minute (the rollups' grain) and ScheduledTo the end it will have, so the rest
/// of the month is neither up nor down but not yet counted.
/// </summary>
public sealed record ReportPeriod(DateTimeOffset From, DateTimeOffset To, string TimeZone)
{
    public const string Final = "final";
    public const string PartialStatus = "partial";

    /// <summary>Where a partial period will end; null for a period already over.</summary>
    public DateTimeOffset? ScheduledTo { get; init; }

    public bool Partial => ScheduledTo is not null;

    /// <summary>
    /// The part of the period elapsed at <paramref name="now"/>: the period itself when it is over (or not begun),
    /// else [From, end of now's minute).
    /// </summary>
    public ReportPeriod ElapsedAt(DateTimeOffset now)
    {
        var end = ScheduledTo ?? To;
        if (now < From || now >= end)
        {
            return this;
        }
        var minuteEnd = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(1);
        return minuteEnd >= end ? this with { To = end, ScheduledTo = null } : this with { To = minuteEnd, ScheduledTo = end };
    }

    /// <summary>The report over this period marked final or partial, with the end a partial one will have.</summary>
    public SlaReport Mark(SlaReport report) =>
        report with { PeriodStatus = Partial ? PartialStatus : Final, ScheduledTo = ScheduledTo };

    /// <summary>The longest range a report covers unless configured otherwise (Reports:MaxRangeDays).</summary>
    public static readonly TimeSpan DefaultMaxRange = TimeSpan.FromDays(400);

    /// <summary>
    /// Instants a report may name. Outside them the arithmetic of the rollup plan and the health look-back (a day
    /// before the period) would leave DateTimeOffset's range; nothing is recorded there anyway.
    /// </summary>
    public static readonly DateTimeOffset Earliest = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset Latest = new(9999, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Resolves what an analyst asked for, or says why it cannot.</summary>
    public static (ReportPeriod? Period, string? Problem) Resolve(
        string? month, DateTimeOffset? from, DateTimeOffset? to, string? timeZone, DateTimeOffset now, TimeSpan? maxRange = null)
    {
        if (FindZone(timeZone, out var zone) is { } zoneProblem)
        {
            return (null, zoneProblem);
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
            if ((InstantProblem("from", from) ?? InstantProblem("to", to)) is { } instantProblem)
            {
                return (null, instantProblem);
            }
            var limit = maxRange ?? DefaultMaxRange;
            if (to.Value - from.Value > limit)
            {
                return (null, string.Create(CultureInfo.InvariantCulture,
                    $"A report covers at most {limit.TotalDays:0.##} days (Reports:MaxRangeDays); ask for shorter ranges"));
            }
            return (new ReportPeriod(from.Value.ToUniversalTime(), to.Value.ToUniversalTime(), zone.Id).ElapsedAt(now), null);
        }

        DateTime firstDay;
        if (month is null)
        {
            var local = TimeZoneInfo.ConvertTime(now, zone);
            firstDay = new DateTime(local.Year, local.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        }
        else if (!DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out firstDay))
        {
            return (null, $"month must look like 2026-10, not '{Shorten(month)}'");
        }
        if (firstDay.Year < Earliest.Year || firstDay.Year >= Latest.Year)
        {
            return (null, $"month must lie between {Earliest.Year}-01 and {Latest.Year - 1}-12");
        }
        return (new ReportPeriod(StartOfLocalDay(firstDay, zone), StartOfLocalDay(firstDay.AddMonths(1), zone), zone.Id).ElapsedAt(now), null);
    }

    /// <summary>Why an instant given in a query (from, to, asOf) cannot be used, or null.</summary>
    public static string? InstantProblem(string name, DateTimeOffset? value) =>
        value is { } instant && (instant < Earliest || instant > Latest)
            ? $"{name} must lie between {Earliest:yyyy-MM-dd} and {Latest:yyyy-MM-dd}"
            : null;

    /// <summary>
    /// An IANA (or Windows) zone id. On Linux the id names a file under the zone database, so anything but the
    /// characters of zone ids is refused before the runtime looks for it.
    /// </summary>
    private static string? FindZone(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id))
        {
            return null;
        }
        var plausible = id.Length <= 64 && !id.Contains("..", StringComparison.Ordinal) && !id.StartsWith('/');
        foreach (var c in id)
        {
            plausible &= char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+' or ' ' or '.';
        }
        try
        {
            if (plausible)
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(id);
                return null;
            }
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
        }
        return $"Unknown time zone '{Shorten(id)}' (use an IANA name such as Europe/Berlin)";
    }

    /// <summary>What a caller sent, short enough to quote in a problem document.</summary>
    public static string Shorten(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "…");

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
