using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;

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
        var shape = new TrafficShape(
            [.. Enumerable.Range(0, services).Select(s => TrafficService.Of($"svc-{s}", ["GET /items/0", "GET /items/1", "GET /items/2"], medianMs: 40, errorRate: 0.02))],
            seed)
        {
            ErrorStatuses = [500],
        };
        var traffic = new TestTraffic();
        // Minutes that have ended (grace included), so the consumer stores them at once instead of holding them
        // open; OpenMinuteTests cover requests of the current minute.
        var end = now.AddSeconds(-90);
        foreach (var request in new TrafficGenerator(shape).Requests(count, end.AddHours(-3), end))
        {
            traffic.Messages.Add(TrafficGenerator.Encode(request));
            traffic.RequestsByService[request.Service] = traffic.RequestsByService.GetValueOrDefault(request.Service) + 1;
            if (request.IsError)
            {
                traffic.ErrorsByService[request.Service] = traffic.ErrorsByService.GetValueOrDefault(request.Service) + 1;
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
