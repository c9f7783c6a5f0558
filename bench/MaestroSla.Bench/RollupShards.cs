namespace MaestroSla.Bench;

/// <summary>
/// Whether this build splits the latency rollups into shards that several nodes can share (Projections:RollupShards):
/// without them HotCold runs every projection on one node, and a second node measures nothing but its own overhead.
/// </summary>
internal static class RollupShards
{
    public static bool Available { get; } =
        typeof(MaestroSla.Sla.Targets.SlaOptions).Assembly.GetType("MaestroSla.Projections.Latency.LatencyRollupShards") is not null;

    public const string NotAvailable =
        "this build has one latency-rollup projection (no Projections:RollupShards: the projection-shards branch is not merged into it), so HotCold runs it on one node and a second node would only add its own overhead";
}
