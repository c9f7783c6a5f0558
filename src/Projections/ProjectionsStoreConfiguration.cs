using JasperFx.Events.Projections;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Targets;
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

        options.Projections.Add(new LatencyRollupProjection(), ProjectionLifecycle.Async, LatencyRollupProjection.Name);

        options.Events.MapEventType<SlaTargetsSet>("sla_targets_set");
        return options;
    }
}
