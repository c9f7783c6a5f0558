using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Targets;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Targets;

/// <summary>
/// Sets the targets of every service named in an OpenSLO v1 YAML body (as exported), all or nothing: a document that
/// cannot be read, or a service without all five objectives, refuses the whole import (OpenSloFormatException, 400).
/// </summary>
public static class ImportOpenSloEndpoint
{
    [WolverinePost("/api/imports/openslo")]
    public static async Task<IResult> Post(HttpRequest request, IDocumentSession session, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        var imported = OpenSlo.Import(await reader.ReadToEndAsync(ct));
        foreach (var (service, targets) in imported)
        {
            session.Events.Append(SlaTargetStreams.For(service), new SlaTargetsSet(service, targets));
        }
        // Wolverine's transactional middleware commits the session after the handler: all services or none.
        return Results.Ok(imported.Select(i => new ImportedTargets(i.Service, i.Targets)).ToList());
    }
}
