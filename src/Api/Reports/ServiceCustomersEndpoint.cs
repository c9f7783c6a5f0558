using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Reports;

/// <summary>The customers of a service that recorded requests, in ordinal order ("(other)" among them when the limit was passed).</summary>
public sealed record ServiceCustomers(string Service, IReadOnlyList<string> Customers);

/// <summary>
/// What ?customer= of a report accepts for a service: the dashboard's customer picker lists it. The same look-up as the
/// report's 404 for an unknown customer, so every name listed has a report. A service that names no customer has an
/// empty list; a service nobody knows is 404 naming the nearest known ones.
/// </summary>
public static class ServiceCustomersEndpoint
{
    public static ProblemDetails Validate(string service, IOptions<ContractLimits> limits) =>
        ReportQuery.Problem(service, null, null, limits.Value) ?? WolverineContinue.NoProblems;

    [WolverineGet("/api/services/{service}/customers")]
    public static async Task<IResult> Get(string service, IQuerySession session, IOptions<SlaOptions> options, CancellationToken ct)
    {
        var customers = await KnownSubjects.CustomersAsync(session, service, ct);
        if (customers.Count == 0 && await ReportQuery.UnknownServiceAsync(session, options.Value, service, ct) is { } unknown)
        {
            return unknown;
        }
        return Results.Ok(new ServiceCustomers(service, customers));
    }
}
