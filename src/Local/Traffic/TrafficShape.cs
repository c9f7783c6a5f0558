namespace MaestroSla.Local.Traffic;

/// <summary>One endpoint of a service and its median latency (latencies are lognormal around it).</summary>
public sealed record TrafficEndpoint(string Name, double MedianMs);

/// <summary>A service of the traffic: its endpoints, how often each is called and how often it fails on an ordinary day.</summary>
/// <param name="RequestsPerMinute">Per endpoint, at load 1; used by paced traffic (<see cref="TrafficGenerator.Minutes"/>).</param>
public sealed record TrafficService(string Name, IReadOnlyList<TrafficEndpoint> Endpoints, double ErrorRate, double RequestsPerMinute = 0)
{
    /// <summary>A service whose endpoints share one median latency.</summary>
    public static TrafficService Of(string name, IEnumerable<string> endpoints, double medianMs, double errorRate, double requestsPerMinute = 0) =>
        new(name, [.. endpoints.Select(e => new TrafficEndpoint(e, medianMs))], errorRate, requestsPerMinute);
}

/// <summary>What a service goes through at a moment: slower answers (a factor on its latency), more or fewer errors.</summary>
/// <param name="ErrorRate">Null: the service's own <see cref="TrafficService.ErrorRate"/>.</param>
public readonly record struct TrafficConditions(double Slowdown, double? ErrorRate)
{
    public static TrafficConditions Normal { get; } = new(1, null);
}

/// <summary>A window in which service number <paramref name="Service"/> is down: reported as downtime, and its health checks fail.</summary>
public sealed record TrafficOutage(int Service, DateTimeOffset Start, DateTimeOffset End, string Reason);

/// <summary>
/// The shape of seeded traffic: who is called, how fast they answer, how often they fail, how the volume moves over
/// time, what goes wrong when. The same shape gives the same traffic, draw for draw.
/// </summary>
public sealed record TrafficShape(IReadOnlyList<TrafficService> Services, int Seed)
{
    /// <summary>σ of the latencies' lognormal: latency = median × slowdown × e^(σ·N(0,1)).</summary>
    public double LatencySigma { get; init; } = 0.55;

    /// <summary>Latencies above are cut to this, as a client's timeout would.</summary>
    public double MaxLatencyMs { get; init; } = double.PositiveInfinity;

    /// <summary>The status of a failed request; one of them, drawn, when there are several.</summary>
    public IReadOnlyList<int> ErrorStatuses { get; init; } = [503];

    /// <summary>
    /// The volume at a moment, relative (null: 1 throughout). Paced traffic multiplies the services' rates by it;
    /// counted traffic keeps a drawn moment with this chance, so there it must stay within [0, 1].
    /// </summary>
    public Func<DateTimeOffset, double>? Load { get; init; }

    /// <summary>What service number <c>s</c> goes through at a moment (null: normal throughout).</summary>
    public Func<int, DateTimeOffset, TrafficConditions>? Conditions { get; init; }

    /// <summary>Outages: paced traffic reports each one as downtime and fails the service's health checks in it.</summary>
    public IReadOnlyList<TrafficOutage> Outages { get; init; } = [];

    /// <summary>Paced traffic checks each service's health every this many minutes (0: no health checks).</summary>
    public int HealthCheckMinutes { get; init; }

    public string HealthComponent { get; init; } = "database";
}
