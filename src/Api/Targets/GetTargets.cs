using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

/// <summary>The targets in force for a service now, and where they come from (the API, configuration or the defaults).</summary>
public static class GetTargetsEndpoint
{
    public static ProblemDetails Validate(string service, IOptions<ContractLimits> limits) =>
        ReportQuery.Problem(service, null, null, limits.Value) ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/services/{service}/targets")]
    public static async Task<IResult> Get(string service, IQuerySession session, IOptions<SlaOptions> options, CancellationToken ct) =>
        Results.Ok(await SlaTargetStreams.ResolveAsync(session, options.Value, service, asOf: null, ct));
}
