using Marten;

namespace MaestroSla.Sla.Targets;

public static class TargetsStoreConfiguration
{
    /// <summary>The target events under an explicit alias that must never change (Marten stores it with each event).</summary>
    public static StoreOptions ConfigureSlaTargets(this StoreOptions options)
    {
        options.Events.MapEventType<SlaTargetsSet>("sla_targets_set");
        return options;
    }
}
