using System.Security.Claims;
using MaestroSla.Api.Reports;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

public sealed record ImportedTargets(string Service, SlaTargets Targets);

public static class OpenSloEndpoints
{
    public const string YamlContentType = "application/yaml";

    /// <summary>
    /// The objectives of one service (?service=) or of every service as OpenSLO v1 YAML: services that recorded
    /// telemetry, services whose targets were set through the API and services configured in Sla:Services.
    /// </summary>
    [WolverineGet("/api/exports/openslo")]
    public static async Task<IResult> ExportOpenSlo(
        string? service, ClaimsPrincipal user, IQuerySession session, IOptions<SlaOptions> options, IOptions<ContractLimits> limits, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(service) && ReportQuery.Problem(service, null, null, limits.Value) is { } invalid)
        {
            return invalid;
        }
        if (!string.IsNullOrEmpty(service) && !ApiAccess.MayRead(user, service))
        {
            return Results.Problem(title: $"This key may not read service '{service}'", statusCode: StatusCodes.Status403Forbidden);
        }
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

    /// <summary>
    /// Sets the targets of every service named in an OpenSLO v1 YAML body (as exported above), all or nothing: a
    /// document that cannot be read, or a service without all five objectives, refuses the whole import.
    /// </summary>
    [WolverinePost("/api/imports/openslo")]
    public static async Task<IResult> ImportOpenSlo(HttpRequest request, IDocumentSession session, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        var yaml = await reader.ReadToEndAsync(ct);
        List<(string Service, SlaTargets Targets)> imported;
        try
        {
            imported = OpenSlo.Import(yaml);
        }
        catch (OpenSloFormatException ex)
        {
            return Results.Problem(title: "The OpenSLO documents cannot be imported", detail: ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        foreach (var (service, targets) in imported)
        {
            session.Events.Append(SlaTargetStreams.For(service), new SlaTargetsSet(service, targets));
        }
        // Wolverine's transactional middleware commits the session after the handler: all services or none.
        return Results.Ok(imported.Select(i => new ImportedTargets(i.Service, i.Targets)).ToList());
    }
}
