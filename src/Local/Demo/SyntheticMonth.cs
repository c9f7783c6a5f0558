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
    public sealed record ServiceProfile(string Name, string[] Endpoints, double MedianMs, double RequestsPerMinute, double ErrorRate);

    public static readonly ServiceProfile[] Services =
    [
        new("checkout", ["POST /cart/checkout", "GET /cart"], MedianMs: 60, RequestsPerMinute: 6, ErrorRate: 0.0004),
        new("search", ["GET /search", "GET /suggest"], MedianMs: 35, RequestsPerMinute: 9, ErrorRate: 0.0002),
        new("payments", ["POST /payments", "GET /payments/{id}"], MedianMs: 90, RequestsPerMinute: 4, ErrorRate: 0.0006),
        new("catalog", ["GET /products", "GET /products/{id}"], MedianMs: 25, RequestsPerMinute: 8, ErrorRate: 0.0001),
    ];

    public DateTimeOffset Start { get; } = monthStart;

    public DateTimeOffset End { get; } = monthStart.AddMonths(1);

    public int Days => (int)(End - Start).TotalDays;

    /// <summary>All messages of one day, in time order per endpoint; <paramref name="requests"/> counts the request metrics.</summary>
    public List<byte[]> Day(int day, out long requests)
    {
        requests = 0;
        var random = new Random(seed + day);
        var messages = new List<byte[]>(100_000);
        var dayStart = Start.AddDays(day);
        for (var s = 0; s < Services.Length; s++)
        {
            var service = Services[s];
            for (var minute = 0; minute < 1440; minute++)
            {
                var at = dayStart.AddMinutes(minute);
                var wave = 1 + (0.6 * Math.Sin((minute - 360) * Math.PI / 720));
                var slow = IsSlow(s, day, minute) ? 4.0 : 1.0;
                var errorRate = IsErrorBurst(s, day, minute) ? 0.05 : service.ErrorRate;
                foreach (var endpoint in service.Endpoints)
                {
                    var count = random.Poisson(service.RequestsPerMinute * wave);
                    for (var i = 0; i < count; i++)
                    {
                        var ts = at.AddMilliseconds(random.Next(60_000));
                        var latency = service.MedianMs * slow * Math.Exp(0.55 * random.Gaussian());
                        var status = random.NextDouble() < errorRate ? 503 : 200;
                        messages.Add(TelemetryWriter.Request(service.Name, endpoint, Distributions.WireMilliseconds(latency), status, ts));
                        requests++;
                    }
                }
                if (minute % 5 == 0)
                {
                    var unhealthy = DowntimeOf(s, day).Any(d => at >= d.Start && at < d.End);
                    messages.Add(TelemetryWriter.Health(service.Name, "database", unhealthy ? "unhealthy" : "healthy", Distributions.WireMilliseconds(1 + random.NextDouble() * 4), at));
                }
            }
            foreach (var (start, end, reason) in DowntimeOf(s, day))
            {
                messages.Add(TelemetryWriter.Downtime(service.Name, start, end, reason));
            }
        }
        if (day == 3)
        {
            messages.Add("{\"v\":1,\"type\":\"request\",\"service\":\"checkout\""u8.ToArray());
            messages.Add(Encoding.UTF8.GetBytes(Invariant($"{{\"v\":1,\"type\":\"request\",\"service\":\"search\",\"endpoint\":\"GET /search\",\"latencyMs\":-5,\"status\":200,\"ts\":\"{dayStart:O}\"}}")));
            messages.Add("{\"v\":1,\"type\":\"metric\",\"service\":\"search\"}"u8.ToArray());
        }
        return messages;
    }

    // Two hours of slowness for each service on a few days, at different times of day.
    private static bool IsSlow(int service, int day, int minute) =>
        day % 9 == service + 2 && minute >= 600 + (service * 90) && minute < 720 + (service * 90);

    private static bool IsErrorBurst(int service, int day, int minute) =>
        day % 11 == service + 4 && minute >= 900 && minute < 930;

    private List<(DateTimeOffset Start, DateTimeOffset End, string Reason)> DowntimeOf(int service, int day)
    {
        var dayStart = Start.AddDays(day);
        var list = new List<(DateTimeOffset, DateTimeOffset, string)>();
        if (day % 10 == service + 1)
        {
            var start = dayStart.AddHours(3 + service).AddMinutes(17);
            list.Add((start, start.AddMinutes(7 + (service * 3)).AddSeconds(20), "deployment"));
            // A second monitor reports an overlapping window for the same outage.
            list.Add((start.AddMinutes(2), start.AddMinutes(9 + (service * 3)), "synthetic probe"));
        }
        if (service == 2 && day == 17)
        {
            var start = dayStart.AddHours(21);
            list.Add((start, start.AddMinutes(26), "payment provider outage"));
        }
        return list;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

}
