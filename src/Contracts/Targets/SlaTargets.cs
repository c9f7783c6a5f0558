using System.Text.Json.Serialization;

namespace MaestroSla.Contracts.Targets;

// A service's targets as the API takes and answers them (JSON web defaults: camelCase), stored inside SlaTargetsSet
// (src/Sla) and read by the CLI.

/// <summary>
/// What a service promises. Defaults are the ones users of the original platform know. A property the record does not
/// have is refused, not ignored: a misspelt target (or another endpoint's body) would otherwise set every target to its
/// default without a word.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
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

/// <summary>The targets in force for a service and where they come from (set through the API, configuration, defaults).</summary>
public sealed record EffectiveTargets(SlaTargets Targets, string Source);

/// <summary>One service's targets as an OpenSLO import set them.</summary>
public sealed record ImportedTargets(string Service, SlaTargets Targets);
