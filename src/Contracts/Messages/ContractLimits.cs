namespace MaestroSla.Contracts.Messages;

/// <summary>
/// Bounds on what the wire contract accepts, bound from the configuration section "Contract".
/// <see cref="TelemetryDecoder"/> rejects nonsensical values when it is constructed.
/// </summary>
public sealed class ContractLimits
{
    public const string SectionName = "Contract";

    /// <summary>
    /// Older timestamps are rejected as implausible. 62 days keeps the whole previous calendar month open for late
    /// data while it is being reported on.
    /// </summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(62);

    /// <summary>Tolerated clock drift of producers ahead of this host.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most one hour, because the latency histograms end there.</summary>
    public TimeSpan MaxLatency { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Applies to service, endpoint, component and customer names, which become parts of read-model keys.</summary>
    public int MaxNameLength { get; set; } = 200;
}
