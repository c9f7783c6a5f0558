using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

public static class TargetEndpoints
{
    [WolverineGet("/api/services/{service}/targets")]
    public static async Task<IResult> Get(
        string service, IQuerySession session, IOptions<SlaOptions> options, IOptions<ContractLimits> limits, CancellationToken ct) =>
        ReportQuery.Problem(service, null, null, limits.Value)
            ?? Results.Ok(await SlaTargetStreams.ResolveAsync(session, options.Value, service, asOf: null, ct));

    /// <summary>Sets a service's targets from now on; earlier reports keep the targets they were made with.</summary>
    [WolverinePut("/api/services/{service}/targets")]
    public static IResult Put(string service, SlaTargets? targets, IDocumentSession session, IOptions<ContractLimits> limits)
    {
        // The name becomes part of a stream key: the rule of ingest names applies.
        if (ReportQuery.Problem(service, null, null, limits.Value) is { } invalid)
        {
            return invalid;
        }
        if (targets is null)
        {
            return ReportQuery.BadRequest("The body must be the targets as a JSON object");
        }
        if (targets.Problem() is { } problem)
        {
            return Results.Problem(title: problem, statusCode: StatusCodes.Status400BadRequest);
        }
        // Wolverine's transactional middleware commits the session after the handler.
        session.Events.Append(SlaTargetStreams.For(service), new SlaTargetsSet(service, targets));
        return Results.Ok(new EffectiveTargets(targets, "set through the API"));
    }
}
