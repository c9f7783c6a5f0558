using System.Security.Claims;
using MaestroSla.Api.Reports;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

/// <summary>
/// The objectives of one service (?service=) or of every service as OpenSLO v1 YAML: services that recorded
/// telemetry, services whose targets were set through the API and services configured in Sla:Services.
/// </summary>
public static class ExportOpenSloEndpoint
{
    public const string YamlContentType = "application/yaml";

    public static ProblemDetails Validate(string? service, ClaimsPrincipal user, IOptions<ContractLimits> limits) =>
        string.IsNullOrEmpty(service)
            ? WolverineContinue.NoProblems
            : ReportQuery.Problem(service, null, null, limits.Value) ?? ReportQuery.Forbidden(user, service) ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/exports/openslo")]
    public static async Task<IResult> Get(string? service, ClaimsPrincipal user, IQuerySession session, IOptions<SlaOptions> options, CancellationToken ct)
    {
        // A read key limited to some services exports only those.
        var services = (string.IsNullOrEmpty(service) ? await KnownSubjects.ServicesAsync(session, options.Value, ct) : [service])
            .Where(s => ApiAccess.MayRead(user, s)).ToList();
        var targets = new List<(string, SlaTargets)>(services.Count);
        foreach (var name in services)
        {
            targets.Add((name, (await SlaTargetStreams.ResolveAsync(session, options.Value, name, asOf: null, ct)).Targets));
        }
        return Results.Text(OpenSlo.Export(targets), YamlContentType);
    }
}
