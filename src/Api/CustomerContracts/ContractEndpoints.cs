using System.Security.Claims;
using System.Text.Json;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.EventStore;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.CustomerContracts;

/// <summary>A customer's contract: the versions recorded, newest last.</summary>
public sealed record CustomerContract(string Customer, ContractVersionEntry Current, IReadOnlyList<ContractVersionEntry> Versions);

/// <summary>
/// Customers' contracts as events, one stream per customer: each PUT records a new version (admin; the author is the
/// key's name); Contracts:Directory feeds versions from YAML files at start (<see cref="ContractFiles"/>). A read key
/// limited to some services sees the contracts whose services it may all read.
/// </summary>
public static class ContractEndpoints
{
    [WolverinePut("/api/contracts/{customer}")]
    public static async Task<IResult> Put(
        string customer, HttpRequest request, ClaimsPrincipal user, IDocumentSession session, IOptions<ContractLimits> limits,
        IOptions<SlaOptions> sla, CancellationToken ct)
    {
        if (ReportNames.Problem(customer, "customer", limits.Value.MaxNameLength) is { } nameProblem)
        {
            return Invalid("customer", nameProblem["customer ".Length..]);
        }
        ContractTerms? terms;
        try
        {
            terms = await JsonSerializer.DeserializeAsync<ContractTerms>(request.Body, ContractTerms.Json, ct);
        }
        catch (JsonException ex)
        {
            var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
            return Invalid(field, $"is not valid: {FirstSentence(ex.Message)}");
        }
        if (terms is null)
        {
            return Invalid("body", "must be the contract as a JSON object");
        }
        if (terms.Problem(limits.Value.MaxNameLength) is { } problem)
        {
            return Invalid(problem.Field, problem.Message);
        }
        // A contract over a service nobody knows is most likely a typo; reports answer such names 404 for the same reason.
        var known = await KnownSubjects.ServicesAsync(session, sla.Value, ct);
        for (var i = 0; i < terms.Services.Count; i++)
        {
            if (!known.Contains(terms.Services[i], StringComparer.Ordinal))
            {
                var nearest = KnownSubjects.Nearest(terms.Services[i], known);
                return Invalid($"services[{i}]", $"'{terms.Services[i]}' is not a known service" +
                    (nearest.Count == 0 ? " (none has recorded anything yet)" : $"; nearest: {string.Join(", ", nearest)}"));
            }
        }
        await CustomerContractStreams.LockForNewVersionAsync(session, customer, ct);
        var versions = await CustomerContractStreams.VersionsAsync(session, customer, null, ct);
        var version = versions.Count == 0 ? 1 : versions[^1].Version + 1;
        session.Events.Append(CustomerContractStreams.For(customer),
            new ContractVersioned(customer, version, terms.Normalized(), user.Identity?.Name ?? "anonymous", "api"));
        await session.SaveChangesAsync(ct);
        var saved = await CustomerContractStreams.VersionsAsync(session, customer, null, ct);
        return Results.Created($"/api/contracts/{Uri.EscapeDataString(customer)}", Contract(customer, saved));
    }

    [WolverineGet("/api/contracts")]
    public static async Task<IResult> List(ClaimsPrincipal user, IQuerySession session, CancellationToken ct)
    {
        var contracts = new List<CustomerContract>();
        var keys = await EventStoreQueries.StreamKeysStartingWithAsync(session, CustomerContractStreams.ContractPrefix, ct);
        foreach (var key in keys.Order(StringComparer.Ordinal))
        {
            var customer = key[CustomerContractStreams.ContractPrefix.Length..];
            var versions = await CustomerContractStreams.VersionsAsync(session, customer, null, ct);
            if (versions.Count > 0 && versions[^1].Terms.Services.All(s => ApiAccess.MayRead(user, s)))
            {
                contracts.Add(Contract(customer, versions));
            }
        }
        return Results.Ok(contracts);
    }

    [WolverineGet("/api/contracts/{customer}")]
    public static async Task<IResult> Get(string customer, ClaimsPrincipal user, IQuerySession session, IOptions<ContractLimits> limits, CancellationToken ct)
    {
        if (ReportNames.Problem(customer, "customer", limits.Value.MaxNameLength) is { } nameProblem)
        {
            return Invalid("customer", nameProblem["customer ".Length..], write: false);
        }
        var versions = await CustomerContractStreams.VersionsAsync(session, customer, null, ct);
        if (versions.Count == 0)
        {
            return await UnknownCustomerAsync(session, customer, ct);
        }
        if (Forbidden(user, versions[^1].Terms) is { } forbidden)
        {
            return forbidden;
        }
        return Results.Ok(Contract(customer, versions));
    }

    /// <summary>A 403 when the caller may not read every service of the contract.</summary>
    public static IResult? Forbidden(ClaimsPrincipal user, ContractTerms terms) =>
        terms.Services.FirstOrDefault(s => !ApiAccess.MayRead(user, s)) is { } service
            ? Results.Problem(title: $"This key may not read service '{service}' of this contract", statusCode: StatusCodes.Status403Forbidden)
            : null;

    /// <summary>404 naming the nearest customers with a contract.</summary>
    public static async Task<IResult> UnknownCustomerAsync(IQuerySession session, string customer, CancellationToken ct)
    {
        var known = (await EventStoreQueries.StreamKeysStartingWithAsync(session, CustomerContractStreams.ContractPrefix, ct))
            .Select(k => k[CustomerContractStreams.ContractPrefix.Length..])
            .ToList();
        var nearest = KnownSubjects.Nearest(customer, known);
        return Results.Problem(
            title: $"No contract for customer '{ReportPeriod.Shorten(customer)}'",
            detail: nearest.Count == 0 ? "No contract is recorded yet." : $"Customers nearest to it: {string.Join(", ", nearest)}.",
            statusCode: StatusCodes.Status404NotFound,
            extensions: new Dictionary<string, object?> { ["nearest"] = nearest });
    }

    /// <summary>A 400 naming the field; a write says that nothing was stored.</summary>
    public static IResult Invalid(string field, string problem, bool write = true) =>
        Results.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [$"{field} {problem}"] },
            title: write ? $"{field} {problem}; nothing was stored" : $"{field} {problem}");

    private static CustomerContract Contract(string customer, List<ContractVersionEntry> versions) => new(customer, versions[^1], versions);

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..(end + 1)];
    }
}
