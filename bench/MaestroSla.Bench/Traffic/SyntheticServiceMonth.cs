using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Local.Traffic;

namespace MaestroSla.Bench.Traffic;

/// <summary>
/// A calendar month of telemetry for many services, fed straight into <see cref="IngestBatch"/> one hour at a time
/// (the path Kafka and HTTP ingest share after decoding): every request is recorded individually, with a daily
/// traffic wave, lognormal latencies, 1 % errors, a health check per service every 5 minutes that fails during
/// the service's two outages a month, and those outages also reported as downtime.
/// </summary>
internal sealed class SyntheticServiceMonth
{
    private readonly string[] _services;
    private readonly string[][] _endpoints;
    private readonly TrafficGenerator _traffic;

    public SyntheticServiceMonth(DateTimeOffset month, int services, int endpointsPerService, long requests, int seed)
    {
        Month = month;
        var perEndpointMinute = (double)requests / (Hours * 60 * services * endpointsPerService);
        var endpoints = Enumerable.Range(1, endpointsPerService).Select(e => $"GET /api/v1/resource-{e}").ToArray();
        // Two outages a month per service, at a seeded time of their day.
        var outageAt = new Random(seed);
        var outages = new List<TrafficOutage>();
        for (var s = 0; s < services; s++)
        {
            foreach (var (day, minutes) in new[] { (3 + (s % 10), 17), (15 + (s % 12), 42) })
            {
                var start = month.AddDays(day).AddMinutes(outageAt.Next(24 * 60));
                outages.Add(new TrafficOutage(s, start, start.AddMinutes(minutes), "deploy"));
            }
        }
        _services = [.. Enumerable.Range(1, services).Select(s => $"service-{s:00}")];
        _endpoints = [.. _services.Select(_ => endpoints)];
        var shape = new TrafficShape(
            [.. _services.Select((name, s) => TrafficService.Of(name, endpoints, medianMs: 20 + (s * 7), errorRate: 0.01, perEndpointMinute))],
            seed)
        {
            LatencySigma = 0.6,
            // Busiest at 15:00 UTC, quietest at 03:00.
            Load = at => 1 + (0.5 * Math.Sin(((at.Hour * 60) + at.Minute - 540) * Math.PI / 720)),
            Outages = outages,
            HealthCheckMinutes = 5,
        };
        _traffic = new TrafficGenerator(shape);
    }

    public DateTimeOffset Month { get; }

    public int Hours => (int)(Month.AddMonths(1) - Month).TotalHours;

    public IReadOnlyList<string> Services => _services;

    public IReadOnlyList<string> EndpointsOf(int service) => _endpoints[service];

    public long Requests { get; private set; }

    public long Errors { get; private set; }

    /// <summary>Adds hour <paramref name="hour"/> of the month to <paramref name="batch"/>.</summary>
    public void AddHour(int hour, IngestBatch batch)
    {
        var hourStart = Month.AddHours(hour);
        foreach (var message in _traffic.Minutes(hourStart, hourStart.AddHours(1)))
        {
            batch.Add(message);
            if (message.Kind == MessageKind.Request)
            {
                Requests++;
                Errors += message.Request.IsError ? 1 : 0;
            }
        }
    }
}
