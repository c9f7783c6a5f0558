using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

/// <summary>Sets a service's targets from now on; earlier reports keep the targets they were made with.</summary>
public static class SetTargetsEndpoint
{
    // The name becomes part of a stream key: the rule of ingest names applies.
    public static ProblemDetails Validate(string service, SlaTargets? targets, IOptions<ContractLimits> limits) =>
        ReportQuery.Problem(service, null, null, limits.Value)
        ?? (targets is null ? ReportQuery.BadRequest("The body must be the targets as a JSON object") : null)
        ?? (targets?.Problem() is { } problem ? ReportQuery.BadRequest(problem) : null)
        ?? WolverineContinue.NoProblems;

    [WolverinePut("/api/services/{service}/targets")]
    public static IResult Put(string service, SlaTargets? targets, IDocumentSession session)
    {
        // Wolverine's transactional middleware commits the session after the handler.
        session.Events.Append(SlaTargetStreams.For(service), new SlaTargetsSet(service, targets!));
        return Results.Ok(new EffectiveTargets(targets!, "set through the API"));
    }
}
