using JasperFx.Events.Projections;
using MaestroSla.Projections.Gaps;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Targets;
using MaestroSla.Projections.Uptime;
using Marten;

namespace MaestroSla.Projections;

public static class ProjectionsStoreConfiguration
{
    public static StoreOptions ConfigureSlaProjections(this StoreOptions options)
    {
        options.Schema.For<LatencyRollup>()
            .Identity(x => x.Id)
            .Index(x => x.Service)
            .Index(x => x.Start);
        options.Schema.For<MinuteRollups>().Identity(x => x.Id);

        options.Projections.Add(new LatencyRollupProjection(), ProjectionLifecycle.Async, LatencyRollupProjection.ProjectionName);

        options.Schema.For<ReportedDowntime>()
            .Index(x => x.Service)
            .Index(x => x.Start);
        options.Schema.For<HealthCheckDay>().Identity(x => x.Id);
        options.Schema.For<HealthRunsDay>().Identity(x => x.Id);
        options.Projections.Add(new UptimeSignalsProjection(), ProjectionLifecycle.Async, UptimeSignalsProjection.ProjectionName);

        options.Schema.For<IngestGap>().Identity(x => x.Id).Index(x => x.DetectedAt);
        options.Projections.Add(new IngestGapsProjection(), ProjectionLifecycle.Async, IngestGapsProjection.ProjectionName);

        options.Events.MapEventType<SlaTargetsSet>("sla_targets_set");
        return options;
    }
}
