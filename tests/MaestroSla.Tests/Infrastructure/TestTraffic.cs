using MaestroSla.Contracts.Messages;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>Deterministic request metrics with their expected per-service totals, for exactly-once checks.</summary>
public sealed class TestTraffic
{
    public List<byte[]> Messages { get; } = [];
    public Dictionary<string, long> RequestsByService { get; } = [];
    public Dictionary<string, long> ErrorsByService { get; } = [];

    public long TotalRequests => RequestsByService.Values.Sum();

    public static TestTraffic Requests(int count, DateTimeOffset now, int services = 5, int seed = 7)
    {
        var random = new Random(seed);
        var traffic = new TestTraffic();
        for (var i = 0; i < count; i++)
        {
            var service = $"svc-{random.Next(services)}";
            var endpoint = $"GET /items/{random.Next(3)}";
            // Minutes that have ended (grace included), so the consumer stores them at once instead of holding them
            // open; OpenMinuteTests cover requests of the current minute.
            var ts = now.AddSeconds(-90 - random.Next(3 * 3600));
            var latency = Math.Round(1 + (random.NextDouble() * 400), 3);
            var status = random.Next(100) < 2 ? 500 : 200;
            traffic.Messages.Add(Request(service, endpoint, latency, status, ts));
            traffic.RequestsByService[service] = traffic.RequestsByService.GetValueOrDefault(service) + 1;
            if (status >= 500)
            {
                traffic.ErrorsByService[service] = traffic.ErrorsByService.GetValueOrDefault(service) + 1;
            }
        }
        return traffic;
    }

    public static byte[] Request(string service, string endpoint, double latencyMs, int status, DateTimeOffset ts) =>
        TelemetryWriter.Request(service, endpoint, latencyMs, status, ts);

    public static byte[] Downtime(string service, DateTimeOffset start, DateTimeOffset end, string reason) =>
        TelemetryWriter.Downtime(service, start, end, reason);

    public static byte[] Health(string service, string component, string status, double latencyMs, DateTimeOffset ts) =>
        TelemetryWriter.Health(service, component, status, latencyMs, ts);
}
