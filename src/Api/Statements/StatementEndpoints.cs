using System.Globalization;
using System.Security.Claims;
using System.Text;
using MaestroSla.Api.CustomerContracts;
using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Statements;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Statements;

/// <summary>What POST …/issue answers: the document's hash and where to fetch it as issued.</summary>
public sealed record StatementIssuedReply(string Customer, string Month, int ContractVersion, DateTimeOffset AsOf, string Sha256, string Location);

/// <summary>
/// A customer's monthly statement (read role): JSON or ?format=csv, ?asOf=T as it stood at T, ?asIssued=true the document
/// as issued, byte for byte. Issuing (admin) records a StatementIssued event holding the document and its SHA-256; the
/// live statement then lists the amendments since.
/// </summary>
public static class StatementEndpoints
{
    public const string JsonContentType = "application/json; charset=utf-8";
    public const string Sha256Header = "X-Statement-Sha256";

    [WolverineGet("/api/contracts/{customer}/statements/{month}")]
    public static async Task<IResult> Get(
        string customer, string month, string? format, DateTimeOffset? asOf, bool? asIssued, ClaimsPrincipal user, IQuerySession session,
        IOptions<SlaOptions> sla, IOptions<ContractLimits> limits, TimeProvider time, CancellationToken ct)
    {
        if (Problem(customer, month, limits.Value) is { } invalid)
        {
            return invalid;
        }
        if (!string.IsNullOrEmpty(format) && format is not ("json" or "csv"))
        {
            return ContractEndpoints.Invalid("format", "must be json or csv", write: false);
        }
        if (ReportPeriod.InstantProblem("asOf", asOf) is { } instant)
        {
            return ContractEndpoints.Invalid("asOf", instant["asOf ".Length..], write: false);
        }
        if (await AccessAsync(session, user, customer, ct) is { } denied)
        {
            return denied;
        }

        if (asIssued == true)
        {
            if (format == "csv")
            {
                return ContractEndpoints.Invalid("format", "must be json with asIssued: the JSON document is what was issued", write: false);
            }
            var issues = await CustomerContractStreams.IssuedAsync(session, customer, month, asOf, ct);
            if (issues.Count == 0)
            {
                return Results.Problem(title: $"The {month} statement of '{customer}' has not been issued" + (asOf is null ? "" : " by asOf"),
                    detail: $"POST /api/contracts/{customer}/statements/{month}/issue issues it.", statusCode: StatusCodes.Status404NotFound);
            }
            var issued = issues[^1].Issued;
            return new IssuedDocument(issued.Document, issued.Sha256);
        }

        var (statement, problem) = await CustomerStatements.LiveAsync(session, sla.Value, customer, month, asOf, time.GetUtcNow(), ct);
        if (statement is null)
        {
            return Results.Problem(title: problem!.Title, detail: problem.Detail, statusCode: problem.Status);
        }
        return format == "csv"
            ? Results.Text(StatementCsv.Write(statement), "text/csv", Encoding.UTF8)
            : Results.Text(CustomerStatements.Serialize(statement), JsonContentType, Encoding.UTF8);
    }

    [WolverinePost("/api/contracts/{customer}/statements/{month}/issue")]
    public static async Task<IResult> Issue(
        string customer, string month, ClaimsPrincipal user, IDocumentSession session, IOptions<SlaOptions> sla, IOptions<ContractLimits> limits,
        TimeProvider time, CancellationToken ct)
    {
        if (Problem(customer, month, limits.Value, write: true) is { } invalid)
        {
            return invalid;
        }
        var (issued, problem) = await CustomerStatements.IssueAsync(session, sla.Value, customer, month, user.Identity?.Name ?? "anonymous", time.GetUtcNow(), ct);
        if (issued is null)
        {
            return Results.Problem(title: problem!.Title, detail: problem.Detail, statusCode: problem.Status);
        }
        session.Events.Append(CustomerContractStreams.StatementFor(customer, month), issued);
        await session.SaveChangesAsync(ct);
        var location = $"/api/contracts/{Uri.EscapeDataString(customer)}/statements/{month}?asIssued=true";
        return Results.Created(location, new StatementIssuedReply(customer, month, issued.ContractVersion, issued.AsOf, issued.Sha256, location));
    }

    /// <summary>The issued document exactly as stored: written as bytes, never re-serialized.</summary>
    private sealed class IssuedDocument(string document, string sha256) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var bytes = Encoding.UTF8.GetBytes(document);
            httpContext.Response.ContentType = JsonContentType;
            httpContext.Response.ContentLength = bytes.Length;
            httpContext.Response.Headers[Sha256Header] = sha256;
            await httpContext.Response.Body.WriteAsync(bytes);
        }
    }

    private static IResult? Problem(string customer, string month, ContractLimits limits, bool write = false)
    {
        if (ReportNames.Problem(customer, "customer", limits.MaxNameLength) is { } name)
        {
            return ContractEndpoints.Invalid("customer", name["customer ".Length..], write);
        }
        return DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first)
            && first.Year >= ReportPeriod.Earliest.Year && first.Year < ReportPeriod.Latest.Year
            ? null
            : ContractEndpoints.Invalid("month", $"must look like 2026-10, not '{ReportPeriod.Shorten(month)}'", write);
    }

    /// <summary>404 for a customer without a contract; 403 when the caller may not read every service of its newest version.</summary>
    private static async Task<IResult?> AccessAsync(IQuerySession session, ClaimsPrincipal user, string customer, CancellationToken ct)
    {
        var versions = await CustomerContractStreams.VersionsAsync(session, customer, null, ct);
        if (versions.Count == 0)
        {
            return await ContractEndpoints.UnknownCustomerAsync(session, customer, ct);
        }
        // Every service any version covers: an earlier month's statement may use an earlier version.
        var covered = versions.SelectMany(v => v.Terms.Services).Distinct(StringComparer.Ordinal).ToList();
        return ContractEndpoints.Forbidden(user, new ContractTerms { Services = covered });
    }
}
