using MaestroSla.Projections.Summaries;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

public static class SummaryEndpoints
{
    /// <summary>Headline figures of every service over [from, to) (UTC dates or instants).</summary>
    [WolverineGet("/api/summary")]
    public static async Task<IResult> Get(IQuerySession session, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        if (from is null || to is null || to <= from)
        {
            return Results.Problem(title: "Give from and to (ISO-8601), with to after from", statusCode: StatusCodes.Status400BadRequest);
        }
        var summaries = new List<ServiceSummary>();
        foreach (var service in await ServiceSummary.ServicesAsync(session, ct))
        {
            summaries.Add(await ServiceSummary.LoadAsync(session, service, from.Value, to.Value, ct));
        }
        return Results.Ok(summaries);
    }
}
