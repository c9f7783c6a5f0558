using System.Globalization;

namespace MaestroSla.Projections.Latency;

public enum RollupGrain
{
    Minute,
    Hour,
    Day,

    /// <summary>A UTC calendar month; kept for the whole service only (see <see cref="LatencyRollup.HasMonths"/>).</summary>
    Month,
}

/// <summary>
/// Requests, errors and the merged latency histogram of one endpoint (or of the whole service, endpoint "*", or of one
/// customer, endpoint "customer|{name}": see <see cref="RollupSeries"/>) over one UTC minute, hour or day. Any window
/// is answered by merging a few of these (see <see cref="RollupPlan"/>).
/// Hours and days are stored as documents of their own; minutes are stored sixty to a document in
/// <see cref="MinuteRollups"/> and read back as rollups by <see cref="LatencyRollups.LoadAsync"/>.
/// </summary>
public sealed class LatencyRollup
{
    public const string AllEndpoints = "*";

    public required string Id { get; init; }
    public required string Service { get; init; }
    public required string Endpoint { get; init; }
    public required RollupGrain Grain { get; init; }
    public required DateTimeOffset Start { get; init; }
    public long Requests { get; set; }
    public long Errors { get; set; }
    public byte[] Latency { get; set; } = [];

    public static string IdFor(string service, string endpoint, RollupGrain grain, DateTimeOffset start) =>
        string.Create(CultureInfo.InvariantCulture, $"{service}|{endpoint}|{GrainCode(grain)}|{start.UtcDateTime:yyyyMMddHHmm}");

    /// <summary>
    /// Whether a series has month rollups: only the whole service ("*"), whose month is what SLA reports ask for most.
    /// One more document per series and page would have made every endpoint's writes a third dearer; one per service is
    /// a few documents a page (docs/benchmarks.md).
    /// </summary>
    public static bool HasMonths(string series) => series == AllEndpoints;

    public static DateTimeOffset StartOf(RollupGrain grain, DateTimeOffset instant)
    {
        if (grain == RollupGrain.Month)
        {
            var utc = instant.UtcDateTime;
            return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
        }
        var ticks = instant.UtcTicks;
        var size = Length(grain).Ticks;
        return new DateTimeOffset(ticks - (ticks % size), TimeSpan.Zero);
    }

    /// <summary>The length of a minute, hour or day; months differ in length (<see cref="EndOf"/>).</summary>
    public static TimeSpan Length(RollupGrain grain) => grain switch
    {
        RollupGrain.Minute => TimeSpan.FromMinutes(1),
        RollupGrain.Hour => TimeSpan.FromHours(1),
        RollupGrain.Day => TimeSpan.FromDays(1),
        _ => throw new ArgumentOutOfRangeException(nameof(grain), grain, "Months differ in length: use EndOf"),
    };

    /// <summary>The end of the rollup that starts at <paramref name="start"/>.</summary>
    public static DateTimeOffset EndOf(RollupGrain grain, DateTimeOffset start) =>
        grain == RollupGrain.Month ? start.AddMonths(1) : start + Length(grain);

    private static string GrainCode(RollupGrain grain) => grain switch
    {
        RollupGrain.Minute => "m",
        RollupGrain.Hour => "h",
        RollupGrain.Day => "d",
        _ => "mo",
    };
}

/// <summary>
/// The minute grain of one endpoint (or "*", or a customer) for one UTC hour. A document per minute made a month of 100
/// endpoints five million rows, and rebuilding or restoring spent nearly all its time writing them (docs/benchmarks.md).
/// </summary>
/// <remarks>
/// Service-wide documents ("*") hold each minute's merged histogram. An endpoint's (and a customer's) documents hold only
/// counts and the sequence numbers of the events that carried each minute: live, a series' hour document is rewritten every
/// minute, and with sixty histograms of a few KB in it that cost grew with the square of the minutes per hour and
/// dominated at thousands of series. The event already holds the minute's histogram (ingest stores one event per
/// series-minute), so a report that needs an endpoint's minutes reads those few events (<see cref="RollupsLoading"/>).
/// </remarks>
public sealed class MinuteRollups
{
    public const int MinutesPerHour = 60;

    public required string Id { get; init; }
    public required string Service { get; init; }
    public required string Endpoint { get; init; }
    public required DateTimeOffset Hour { get; init; }

    /// <summary>Indexed by the minute of the hour; null where the minute had no requests.</summary>
    public MinuteFigures?[] Minutes { get; set; } = new MinuteFigures?[MinutesPerHour];

    public static string IdFor(string service, string endpoint, DateTimeOffset hour) =>
        string.Create(CultureInfo.InvariantCulture, $"{service}|{endpoint}|{hour.UtcDateTime:yyyyMMddHH}");

    /// <summary>
    /// The minute starting at <paramref name="minute"/> as a rollup, or null when it had no requests. For an endpoint
    /// its latency is still to be read from the events <see cref="FiguresOf"/> names.
    /// </summary>
    public LatencyRollup? RollupOf(DateTimeOffset minute)
    {
        var figures = FiguresOf(minute);
        return figures is null
            ? null
            : new LatencyRollup
            {
                Id = LatencyRollup.IdFor(Service, Endpoint, RollupGrain.Minute, minute),
                Service = Service,
                Endpoint = Endpoint,
                Grain = RollupGrain.Minute,
                Start = minute,
                Requests = figures.Requests,
                Errors = figures.Errors,
                Latency = figures.Latency,
            };
    }

    public MinuteFigures? FiguresOf(DateTimeOffset minute) => Minutes[(int)(minute - Hour).TotalMinutes];
}

public sealed class MinuteFigures
{
    public long Requests { get; set; }
    public long Errors { get; set; }

    /// <summary>The merged histogram, in service-wide documents; empty in an endpoint's.</summary>
    public byte[] Latency { get; set; } = [];

    /// <summary>In an endpoint's documents: the sequence numbers of the events that carried this minute.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public List<long>? Events { get; set; }
}
