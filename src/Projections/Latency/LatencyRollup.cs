using System.Globalization;

namespace MaestroSla.Projections.Latency;

public enum RollupGrain
{
    Minute,
    Hour,
    Day,
}

/// <summary>
/// Requests, errors and the merged latency histogram of one endpoint (or of the whole service, endpoint "*")
/// over one UTC minute, hour or day. Any window is answered by merging a few of these (see <see cref="RollupPlan"/>).
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

    public static DateTimeOffset StartOf(RollupGrain grain, DateTimeOffset instant)
    {
        var ticks = instant.UtcTicks;
        var size = Length(grain).Ticks;
        return new DateTimeOffset(ticks - (ticks % size), TimeSpan.Zero);
    }

    public static TimeSpan Length(RollupGrain grain) => grain switch
    {
        RollupGrain.Minute => TimeSpan.FromMinutes(1),
        RollupGrain.Hour => TimeSpan.FromHours(1),
        _ => TimeSpan.FromDays(1),
    };

    private static char GrainCode(RollupGrain grain) => grain switch
    {
        RollupGrain.Minute => 'm',
        RollupGrain.Hour => 'h',
        _ => 'd',
    };
}
