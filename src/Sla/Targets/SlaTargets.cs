using JasperFx.Events;
using Marten;

namespace MaestroSla.Sla.Targets;

/// <summary>What a service promises. Defaults are the ones users of the original platform know.</summary>
public sealed record SlaTargets
{
    public double UptimePercent { get; init; } = 99.9;
    public double AvailabilityPercent { get; init; } = 99.95;
    public double P95Ms { get; init; } = 200;
    public double P99Ms { get; init; } = 500;
    public double ErrorRatePercent { get; init; } = 0.1;

    /// <summary>Null when the targets make sense, else what is wrong with them.</summary>
    public string? Problem() =>
        UptimePercent is <= 0 or > 100 ? "uptimePercent must be in (0, 100]"
        : AvailabilityPercent is <= 0 or > 100 ? "availabilityPercent must be in (0, 100]"
        : P95Ms <= 0 || !double.IsFinite(P95Ms) ? "p95Ms must be a positive number"
        : P99Ms <= 0 || !double.IsFinite(P99Ms) ? "p99Ms must be a positive number"
        : ErrorRatePercent is < 0 or > 100 ? "errorRatePercent must be in [0, 100]"
        : null;
}

/// <summary>An analyst or operator set a service's targets through the API. Reports as of T use the targets of T.</summary>
public sealed record SlaTargetsSet(string Service, SlaTargets Targets);

/// <summary>Configuration section "Sla": defaults, per-service overrides and how health checks count as downtime.</summary>
public sealed class SlaOptions
{
    public const string Section = "Sla";

    public SlaTargets Defaults { get; set; } = new();

    public Dictionary<string, SlaTargets> Services { get; set; } = [];

    /// <summary>A component failing this many consecutive checks is down from the first of them.</summary>
    public int HealthFailureThreshold { get; set; } = 3;
}

public sealed record EffectiveTargets(SlaTargets Targets, string Source);

public static class SlaTargetStreams
{
    // '|' never occurs in a service name (the wire contract refuses it), so these keys cannot clash with services.
    public static string For(string service) => $"targets|{service}";

    /// <summary>
    /// The targets in force for a service at <paramref name="asOf"/> (null: now): the last ones set through the
    /// API by then, else the configured override, else the defaults.
    /// </summary>
    public static async Task<EffectiveTargets> ResolveAsync(
        IQuerySession session, SlaOptions options, string service, DateTimeOffset? asOf, CancellationToken ct) =>
        Resolve(await session.Events.FetchStreamAsync(For(service), timestamp: asOf, token: ct), options, service);

    /// <summary>The same from the service's target events, e.g. fetched in a batch with other reads.</summary>
    public static EffectiveTargets Resolve(IReadOnlyList<IEvent> events, SlaOptions options, string service)
    {
        for (var i = events.Count - 1; i >= 0; i--)
        {
            if (events[i].Data is SlaTargetsSet set)
            {
                return new EffectiveTargets(set.Targets, $"set through the API at {events[i].Timestamp:O}");
            }
        }
        return options.Services.TryGetValue(service, out var configured)
            ? new EffectiveTargets(configured, "configuration (Sla:Services)")
            : new EffectiveTargets(options.Defaults, "defaults (Sla:Defaults)");
    }
}
