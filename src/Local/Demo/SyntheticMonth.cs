using System.Globalization;
using System.Text;
using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;

namespace MaestroSla.Local.Demo;

/// <summary>
/// A deterministic month of telemetry for a few services: daily traffic waves, slow periods, error bursts,
/// downtime (some of it overlapping, as when two monitors report the same outage), health checks, and a few
/// malformed messages that must end up as dead letters.
/// </summary>
public sealed class SyntheticMonth(DateTimeOffset monthStart, int seed = 20261127)
{
    public static readonly TrafficService[] Services =
    [
        TrafficService.Of("checkout", ["POST /cart/checkout", "GET /cart"], medianMs: 60, errorRate: 0.0004, requestsPerMinute: 6),
        TrafficService.Of("search", ["GET /search", "GET /suggest"], medianMs: 35, errorRate: 0.0002, requestsPerMinute: 9),
        TrafficService.Of("payments", ["POST /payments", "GET /payments/{id}"], medianMs: 90, errorRate: 0.0006, requestsPerMinute: 4),
        TrafficService.Of("catalog", ["GET /products", "GET /products/{id}"], medianMs: 25, errorRate: 0.0001, requestsPerMinute: 8),
    ];

    public DateTimeOffset Start { get; } = monthStart;

    public DateTimeOffset End { get; } = monthStart.AddMonths(1);

    public int Days => (int)(End - Start).TotalDays;

    /// <summary>All messages of one day, in time order per endpoint; <paramref name="requests"/> counts the request metrics.</summary>
    public List<byte[]> Day(int day, out long requests)
    {
        requests = 0;
        var messages = new List<byte[]>(100_000);
        var dayStart = Start.AddDays(day);
        // A generator per day, seeded by the day: any day can be made alone, and always the same.
        var traffic = new TrafficGenerator(Shape() with { Seed = seed + day });
        foreach (var message in traffic.Minutes(dayStart, dayStart.AddDays(1)))
        {
            messages.Add(TrafficGenerator.Encode(message));
            requests += message.Kind == MessageKind.Request ? 1 : 0;
        }
        if (day == 3)
        {
            messages.Add("{\"v\":1,\"type\":\"request\",\"service\":\"checkout\""u8.ToArray());
            messages.Add(Encoding.UTF8.GetBytes(Invariant($"{{\"v\":1,\"type\":\"request\",\"service\":\"search\",\"endpoint\":\"GET /search\",\"latencyMs\":-5,\"status\":200,\"ts\":\"{dayStart:O}\"}}")));
            messages.Add("{\"v\":1,\"type\":\"metric\",\"service\":\"search\"}"u8.ToArray());
        }
        return messages;
    }

    /// <summary>
    /// The month's traffic: a daily wave (busiest at noon UTC), two hours of slowness for each service on a few days,
    /// half-hour error bursts, deployments that a second monitor reports overlapping, one long provider outage, and a
    /// database health check every five minutes.
    /// </summary>
    public TrafficShape Shape() => new(Services, seed)
    {
        LatencySigma = 0.55,
        Load = at => 1 + (0.6 * Math.Sin((MinuteOfDay(at) - 360) * Math.PI / 720)),
        Conditions = (service, at) => new TrafficConditions(
            Slowdown: IsSlow(service, DayOf(at), MinuteOfDay(at)) ? 4.0 : 1.0,
            ErrorRate: IsErrorBurst(service, DayOf(at), MinuteOfDay(at)) ? 0.05 : null),
        Outages = Outages(),
        HealthCheckMinutes = 5,
        HealthComponent = "database",
    };

    private int DayOf(DateTimeOffset at) => (int)((at - Start).Ticks / TimeSpan.TicksPerDay);

    private static int MinuteOfDay(DateTimeOffset at) => (int)(at.UtcTicks % TimeSpan.TicksPerDay / TimeSpan.TicksPerMinute);

    // Two hours of slowness for each service on a few days, at different times of day.
    private static bool IsSlow(int service, int day, int minute) =>
        day % 9 == service + 2 && minute >= 600 + (service * 90) && minute < 720 + (service * 90);

    private static bool IsErrorBurst(int service, int day, int minute) =>
        day % 11 == service + 4 && minute >= 900 && minute < 930;

    private List<TrafficOutage> Outages()
    {
        var list = new List<TrafficOutage>();
        for (var day = 0; day < Days; day++)
        {
            var dayStart = Start.AddDays(day);
            for (var service = 0; service < Services.Length; service++)
            {
                if (day % 10 == service + 1)
                {
                    var start = dayStart.AddHours(3 + service).AddMinutes(17);
                    list.Add(new(service, start, start.AddMinutes(7 + (service * 3)).AddSeconds(20), "deployment"));
                    // A second monitor reports an overlapping window for the same outage.
                    list.Add(new(service, start.AddMinutes(2), start.AddMinutes(9 + (service * 3)), "synthetic probe"));
                }
                if (service == 2 && day == 17)
                {
                    var start = dayStart.AddHours(21);
                    list.Add(new(service, start, start.AddMinutes(26), "payment provider outage"));
                }
            }
        }
        return list;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
