using Wolverine.Runtime;
using Wolverine.Runtime.Agents;

namespace MaestroSla.Api.Hosting;

/// <summary>How a node that runs no projections (Projections:Daemon=Disabled) takes part in Wolverine's projection distribution.</summary>
public static class ProjectionNodeCapability
{
    /// <summary>
    /// Wolverine's event subscription agents (one per projection) as a node sees them that must not run any: every
    /// node of the cluster can be elected leader, and the leader assigns only the agent families it knows, so an API
    /// replica without the family would leave the projections unassigned for as long as it leads. This family is the
    /// one Wolverine registered, except that it offers the node no capability: a node's capabilities are what its
    /// static families support, and the leader places an agent only on a node with that capability (the mechanism
    /// Wolverine uses for blue/green deployments). Registered after Wolverine's, it replaces it for its scheme.
    /// </summary>
    public sealed class LeaderOnly(EventSubscriptionAgentFamily family) : IAgentFamily
    {
        public string Scheme => family.Scheme;

        public ValueTask<IReadOnlyList<Uri>> AllKnownAgentsAsync() => family.AllKnownAgentsAsync();

        public ValueTask<IAgent> BuildAgentAsync(Uri uri, IWolverineRuntime wolverineRuntime) =>
            throw new InvalidOperationException($"This node runs no projections (Projections:Daemon=Disabled) and cannot start {uri}");

        public ValueTask<IReadOnlyList<Uri>> SupportedAgentsAsync() => new([]);

        public ValueTask EvaluateAssignmentsAsync(AssignmentGrid assignments) => family.EvaluateAssignmentsAsync(assignments);
    }
}
