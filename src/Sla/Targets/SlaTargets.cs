using JasperFx.Events;
using MaestroSla.Contracts.Targets;
using Marten;

namespace MaestroSla.Sla.Targets;

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
