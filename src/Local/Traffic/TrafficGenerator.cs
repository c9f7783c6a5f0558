using MaestroSla.Contracts.Messages;

namespace MaestroSla.Local.Traffic;

/// <summary>
/// Seeded traffic of a <see cref="TrafficShape"/>, as the records ingest decodes (<see cref="RequestMetric"/>,
/// <see cref="DecodedMessage"/>) and, through <see cref="Encode(in RequestMetric)"/>, as wire messages. What the demo,
/// the tests and the benchmarks publish: two runs with one shape give the same traffic.
/// </summary>
/// <remarks>
/// Each request draws, in this order: its moment (counted traffic only), its series (counted traffic only), its
/// latency, whether it failed (and which error status, when there are several). Callers that kept data sets across
/// versions rely on that order; change it and those data sets change.
/// </remarks>
public sealed class TrafficGenerator
{
    private readonly TrafficShape _shape;
    private readonly Random _random;
    private readonly (int Service, TrafficEndpoint Endpoint)[] _series;

    public TrafficGenerator(TrafficShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfZero(shape.Services.Count);
        ArgumentOutOfRangeException.ThrowIfZero(shape.ErrorStatuses.Count);
        _shape = shape;
        _random = new Random(shape.Seed);
        var series = new List<(int, TrafficEndpoint)>();
        for (var s = 0; s < shape.Services.Count; s++)
        {
            foreach (var endpoint in shape.Services[s].Endpoints)
            {
                series.Add((s, endpoint));
            }
        }
        _series = [.. series];
    }

    /// <summary>
    /// <paramref name="count"/> requests at moments drawn evenly over the whole seconds of [<paramref name="from"/>,
    /// <paramref name="to"/>) (to the millisecond), thinned by the shape's load, each of a series drawn evenly.
    /// </summary>
    public IEnumerable<RequestMetric> Requests(int count, DateTimeOffset from, DateTimeOffset to)
    {
        var seconds = (to - from).Ticks / TimeSpan.TicksPerSecond;
        ArgumentOutOfRangeException.ThrowIfLessThan(seconds, 1, nameof(to));
        for (var made = 0; made < count;)
        {
            var at = from.AddSeconds(_random.NextInt64(seconds)).AddMilliseconds(_random.Next(1000));
            if (_shape.Load is { } load && _random.NextDouble() > load(at))
            {
                continue;
            }
            var (service, endpoint) = _series[_random.Next(_series.Length)];
            yield return Request(service, endpoint, at, ConditionsOf(service, at));
            made++;
        }
    }

    /// <summary>
    /// Every minute of [<paramref name="from"/>, <paramref name="to"/>), service after service: each endpoint's requests
    /// of the minute (Poisson, the service's rate × load, at moments drawn in the minute), a health check every
    /// <see cref="TrafficShape.HealthCheckMinutes"/> (failing in the service's outages), then the service's outages
    /// that start in the period, as downtime.
    /// </summary>
    public IEnumerable<DecodedMessage> Minutes(DateTimeOffset from, DateTimeOffset to)
    {
        var minutes = (int)((to - from).Ticks / TimeSpan.TicksPerMinute);
        for (var s = 0; s < _shape.Services.Count; s++)
        {
            var service = _shape.Services[s];
            for (var minute = 0; minute < minutes; minute++)
            {
                var at = from.AddMinutes(minute);
                var load = _shape.Load?.Invoke(at) ?? 1;
                var conditions = ConditionsOf(s, at);
                foreach (var endpoint in service.Endpoints)
                {
                    var count = _random.Poisson(service.RequestsPerMinute * load);
                    for (var i = 0; i < count; i++)
                    {
                        var ts = at.AddMilliseconds(_random.Next(60_000));
                        yield return DecodedMessage.FromRequest(Request(s, endpoint, ts, conditions));
                    }
                }
                if (_shape.HealthCheckMinutes > 0 && minute % _shape.HealthCheckMinutes == 0)
                {
                    var state = IsDown(s, at) ? HealthState.Unhealthy : HealthState.Healthy;
                    var latencyMs = Distributions.WireMilliseconds(1 + (_random.NextDouble() * 4));
                    yield return DecodedMessage.FromHealth(new HealthResult(service.Name, _shape.HealthComponent, state, latencyMs, at));
                }
            }
            foreach (var outage in _shape.Outages)
            {
                if (outage.Service == s && outage.Start >= from && outage.Start < to)
                {
                    yield return DecodedMessage.FromDowntime(new DowntimeInterval(service.Name, outage.Start, outage.End, outage.Reason));
                }
            }
        }
    }

    /// <summary>The request as its producer sends it (version-1 wire format).</summary>
    public static byte[] Encode(in RequestMetric request) =>
        TelemetryWriter.Request(request.Service, request.Endpoint, request.LatencyMicros / 1000.0, request.StatusCode, request.Timestamp, customer: request.Customer);

    /// <summary>The message as its producer sends it (version-1 wire format).</summary>
    public static byte[] Encode(in DecodedMessage message) => message.Kind switch
    {
        MessageKind.Request => Encode(message.Request),
        MessageKind.Health => TelemetryWriter.Health(message.Health!.Service, message.Health.Component, message.Health.Status, message.Health.LatencyMs, message.Health.Timestamp),
        _ => TelemetryWriter.Downtime(message.Downtime!.Service, message.Downtime.Start, message.Downtime.End, message.Downtime.Reason),
    };

    private RequestMetric Request(int service, TrafficEndpoint endpoint, DateTimeOffset at, TrafficConditions conditions)
    {
        var latencyMs = Math.Min(_shape.MaxLatencyMs, endpoint.MedianMs * conditions.Slowdown * Math.Exp(_shape.LatencySigma * _random.Gaussian()));
        var failed = _random.NextDouble() < (conditions.ErrorRate ?? _shape.Services[service].ErrorRate);
        var status = !failed ? 200
            : _shape.ErrorStatuses.Count == 1 ? _shape.ErrorStatuses[0]
            : _shape.ErrorStatuses[_random.Next(_shape.ErrorStatuses.Count)];
        // Whole microseconds: what a wire message's three decimals of a millisecond carry (Encode writes micros / 1000.0,
        // the very double WireMilliseconds gives).
        var micros = (long)Math.Round(Distributions.WireMilliseconds(latencyMs) * 1000);
        return new RequestMetric(_shape.Services[service].Name, endpoint.Name, micros, status, failed, at);
    }

    private TrafficConditions ConditionsOf(int service, DateTimeOffset at) =>
        _shape.Conditions?.Invoke(service, at) ?? TrafficConditions.Normal;

    private bool IsDown(int service, DateTimeOffset at)
    {
        foreach (var outage in _shape.Outages)
        {
            if (outage.Service == service && at >= outage.Start && at < outage.End)
            {
                return true;
            }
        }
        return false;
    }
}
