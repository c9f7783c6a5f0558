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
    private readonly int _endpointsPerService;
    private readonly double _requestsPerEndpointMinute;
    private readonly string[] _services;
    private readonly string[][] _endpoints;
    private readonly (DateTimeOffset Start, DateTimeOffset End)[][] _outages;
    private readonly Random _random;

    public SyntheticServiceMonth(DateTimeOffset month, int services, int endpointsPerService, long requests, int seed)
    {
        Month = month;
        _endpointsPerService = endpointsPerService;
        _random = new Random(seed);
        _services = [.. Enumerable.Range(1, services).Select(s => $"service-{s:00}")];
        _endpoints = [.. _services.Select(_ => Enumerable.Range(1, endpointsPerService).Select(e => $"GET /api/v1/resource-{e}").ToArray())];
        _requestsPerEndpointMinute = (double)requests / (Hours * 60 * services * endpointsPerService);
        _outages = [.. _services.Select((_, s) => new[] { Outage(3 + (s % 10), 17), Outage(15 + (s % 12), 42) })];
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
        for (var s = 0; s < _services.Length; s++)
        {
            var service = _services[s];
            var medianMs = 20 + (s * 7);
            for (var minute = 0; minute < 60; minute++)
            {
                var at = hourStart.AddMinutes(minute);
                // Busiest at 15:00 UTC, quietest at 03:00.
                var wave = 1 + (0.5 * Math.Sin(((at.Hour * 60) + minute - 540) * Math.PI / 720));
                for (var e = 0; e < _endpointsPerService; e++)
                {
                    var count = (int)Math.Round(_requestsPerEndpointMinute * wave * (0.8 + (0.4 * _random.NextDouble())));
                    for (var i = 0; i < count; i++)
                    {
                        var latencyMicros = (long)(medianMs * 1000 * Math.Exp(0.6 * _random.Gaussian()));
                        var isError = _random.NextDouble() < 0.01;
                        batch.Add(DecodedMessage.FromRequest(new RequestMetric(
                            service, _endpoints[s][e], latencyMicros, isError ? 503 : 200, isError, at.AddMilliseconds(_random.Next(60_000)))));
                        Requests++;
                        Errors += isError ? 1 : 0;
                    }
                }
                if (minute % 5 == 0)
                {
                    var down = Array.Exists(_outages[s], o => at >= o.Start && at < o.End);
                    batch.Add(DecodedMessage.FromHealth(new HealthResult(service, "database", down ? HealthState.Unhealthy : HealthState.Healthy, 2.5, at)));
                }
            }
            foreach (var (start, end) in _outages[s])
            {
                if (start >= hourStart && start < hourStart.AddHours(1))
                {
                    batch.Add(DecodedMessage.FromDowntime(new DowntimeInterval(service, start, end, "deploy")));
                }
            }
        }
    }

    private (DateTimeOffset Start, DateTimeOffset End) Outage(int day, int minutes)
    {
        var start = Month.AddDays(day).AddMinutes(_random.Next(24 * 60));
        return (start, start.AddMinutes(minutes));
    }
}
