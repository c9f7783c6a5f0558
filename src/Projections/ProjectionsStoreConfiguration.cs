using JasperFx.Events.Projections;
using MaestroSla.Projections.Gaps;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections;

public static class ProjectionsStoreConfiguration
{
    /// <param name="rollupShards">How many projections share the latency rollups (Projections:RollupShards).</param>
    public static StoreOptions ConfigureSlaProjections(this StoreOptions options, int rollupShards = LatencyRollupShards.DefaultCount)
    {
        var shards = new LatencyRollupShards(rollupShards);
        options.Schema.For<LatencyRollup>()
            .Identity(x => x.Id)
            .Index(x => x.Service)
            .Index(x => x.Start);
        options.Schema.For<MinuteRollups>().Identity(x => x.Id);

        for (var index = 0; index < shards.Count; index++)
        {
            var projection = new LatencyRollupProjection(index, shards);
            options.Projections.Add(projection, ProjectionLifecycle.Async, projection.ProjectionName);
        }

        options.Schema.For<ReportedDowntime>()
            .Index(x => x.Service)
            .Index(x => x.Start);
        options.Schema.For<HealthCheckDay>().Identity(x => x.Id);
        options.Schema.For<HealthRunsDay>().Identity(x => x.Id);
        options.Projections.Add(new UptimeSignalsProjection(), ProjectionLifecycle.Async, UptimeSignalsProjection.ProjectionName);

        options.Schema.For<IngestGap>().Identity(x => x.Id).Index(x => x.DetectedAt);
        options.Projections.Add(new IngestGapsProjection(), ProjectionLifecycle.Async, IngestGapsProjection.ProjectionName);

        options.ConfigureMaintenance();
        return options;
    }
}
