using JasperFx.Events;
using Marten;

namespace MaestroSla.Sla.CustomerContracts;

/// <summary>
/// A new version of a customer's contract. Versions are never changed or deleted: a statement uses the newest version
/// whose EffectiveFrom is at or before its month, as recorded at the moment asked about. Source says where it came
/// from: "api", or "file:{name}" for Contracts:Directory.
/// </summary>
public sealed record ContractVersioned(string Customer, int Version, ContractTerms Terms, string Author, string Source);

/// <summary>
/// A statement was issued: the JSON document as sent (byte for byte, as UTF-8 text) and its SHA-256, computed from the
/// events recorded up to AsOf. The event log carries the document, so a restore past the issue keeps it.
/// </summary>
public sealed record StatementIssued(
    string Customer, string Month, int ContractVersion, DateTimeOffset AsOf, string Sha256, string Document, string Author);

/// <summary>A version as the API lists it: the event and when it was recorded.</summary>
public sealed record ContractVersionEntry(int Version, DateTimeOffset RecordedAt, string Author, string Source, ContractTerms Terms);

public static class CustomerContractStreams
{
    // '|' never occurs in a customer or service name (the ingest name rule applies), so these keys cannot clash.
    public const string ContractPrefix = "contract|";

    public static string For(string customer) => ContractPrefix + customer;

    public static string StatementFor(string customer, string month) => $"statement|{customer}|{month}";

    /// <summary>
    /// Starts the session's transaction and holds the customer's contract lock in it until the session commits, so the
    /// newest version read next is still the newest when the next one is appended: two PUTs at the same moment get
    /// versions n+1 and n+2, never both n+1.
    /// </summary>
    public static async Task LockForNewVersionAsync(IDocumentSession session, string customer, CancellationToken ct)
    {
        await session.BeginTransactionAsync(ct);
        await session.AdvancedSql.QueryAsync<int>("select 1 from pg_advisory_xact_lock(hashtextextended(?, 0))", ct, For(customer));
    }

    public static StoreOptions ConfigureCustomerContracts(this StoreOptions options)
    {
        options.Events.MapEventType<ContractVersioned>("contract_versioned");
        options.Events.MapEventType<StatementIssued>("statement_issued");
        return options;
    }

    /// <summary>Every version of a customer's contract recorded up to <paramref name="asOf"/> (null: now), oldest first.</summary>
    public static async Task<List<ContractVersionEntry>> VersionsAsync(IQuerySession session, string customer, DateTimeOffset? asOf, CancellationToken ct) =>
        Versions(await session.Events.FetchStreamAsync(For(customer), timestamp: asOf, token: ct));

    public static List<ContractVersionEntry> Versions(IReadOnlyList<IEvent> events)
    {
        var versions = new List<ContractVersionEntry>();
        foreach (var @event in events)
        {
            if (@event.Data is ContractVersioned v)
            {
                versions.Add(new ContractVersionEntry(v.Version, @event.Timestamp, v.Author, v.Source, v.Terms));
            }
        }
        return versions;
    }

    /// <summary>The version governing a month (yyyy-MM): the newest one whose EffectiveFrom is at or before it.</summary>
    public static ContractVersionEntry? InForce(IEnumerable<ContractVersionEntry> versions, string month) =>
        versions.Where(v => string.CompareOrdinal(v.Terms.EffectiveFrom, month) <= 0).MaxBy(v => v.Version);

    /// <summary>Every statement issued for a customer's month up to <paramref name="asOf"/>, oldest first.</summary>
    public static async Task<List<(StatementIssued Issued, DateTimeOffset RecordedAt)>> IssuedAsync(
        IQuerySession session, string customer, string month, DateTimeOffset? asOf, CancellationToken ct) =>
        (await session.Events.FetchStreamAsync(StatementFor(customer, month), timestamp: asOf, token: ct))
            .Where(e => e.Data is StatementIssued)
            .Select(e => ((StatementIssued)e.Data, e.Timestamp))
            .ToList();
}
