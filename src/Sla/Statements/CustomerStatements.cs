using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Statements;
using MaestroSla.Projections.Latency;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using MaestroSla.Sla.Targets;
using Marten;

namespace MaestroSla.Sla.Statements;

/// <summary>Why a statement cannot be given: the HTTP status that says so and a title.</summary>
public sealed record StatementProblem(int Status, string Title, string? Detail = null);

/// <summary>
/// A customer's statement of a month as of a moment (now, or ?asOf), issued statements and the amendments since.
/// One serializer writes every statement document, so an issued one is the bytes the API answered with.
/// </summary>
public static class CustomerStatements
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>At most this many amendments are listed one by one; later changes are folded into the last.</summary>
    public const int MaxAmendments = 20;

    public static string Serialize(Statement statement) => JsonSerializer.Serialize(statement, Json);

    public static string Sha256(string document) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(document)));

    /// <summary>The statement without issue or amendments, from the contract version in force as of <paramref name="asOf"/>.</summary>
    public static async Task<(Statement? Statement, StatementProblem? Problem)> FiguresAsync(
        IQuerySession session, SlaOptions options, string customer, string month, DateTimeOffset? asOf, DateTimeOffset now, CancellationToken ct)
    {
        var versions = await CustomerContractStreams.VersionsAsync(session, customer, asOf, ct);
        if (versions.Count == 0)
        {
            return (null, new StatementProblem(404, $"No contract for customer '{ReportPeriod.Shorten(customer)}'",
                asOf is null ? "PUT /api/contracts/{customer} records one." : "None was recorded by asOf."));
        }
        if (CustomerContractStreams.InForce(versions, month) is not { } contract)
        {
            return (null, new StatementProblem(404, $"No version of '{customer}''s contract is in force in {month}",
                $"The earliest takes effect in {versions.Min(v => v.Terms.EffectiveFrom)}."));
        }
        var (period, problem) = ReportPeriod.Resolve(month, null, null, contract.Terms.TimeZone, now);
        if (period is null)
        {
            return (null, new StatementProblem(400, problem!));
        }
        var at = asOf ?? now;
        if (period.From > at)
        {
            return (null, new StatementProblem(400, $"{month} has not begun in {contract.Terms.TimeZone}" + (asOf is null ? "" : " at asOf")));
        }
        period = period.ElapsedAt(at);
        return (await StatementBuilder.BuildAsync(session, options, customer, month, contract, period, asOf, ct), null);
    }

    /// <summary>The live statement: figures, the latest issue (if any) and what changed since.</summary>
    public static async Task<(Statement? Statement, StatementProblem? Problem)> LiveAsync(
        IQuerySession session, SlaOptions options, string customer, string month, DateTimeOffset? asOf, DateTimeOffset now, CancellationToken ct)
    {
        var (statement, problem) = await FiguresAsync(session, options, customer, month, asOf, now, ct);
        if (statement is null)
        {
            return (null, problem);
        }
        var issues = await CustomerContractStreams.IssuedAsync(session, customer, month, asOf, ct);
        if (issues.Count == 0)
        {
            return (statement, null);
        }
        var (issued, _) = issues[^1];
        var amendments = await AmendmentsAsync(session, options, customer, month, issued, asOf, now, ct);
        return (statement with { Issued = new StatementIssue(issued.AsOf, issued.Author, issued.AsOf, issued.Sha256), Amendments = amendments }, null);
    }

    /// <summary>
    /// The document to issue: the statement from the events recorded up to <paramref name="now"/> (as of now, so that the
    /// same question asked of the event log later gives the same figures), marked issued. Only a month that is over.
    /// </summary>
    public static async Task<(StatementIssued? Issued, StatementProblem? Problem)> IssueAsync(
        IQuerySession session, SlaOptions options, string customer, string month, string author, DateTimeOffset now, CancellationToken ct)
    {
        var (statement, problem) = await FiguresAsync(session, options, customer, month, now, now, ct);
        if (statement is null)
        {
            return (null, problem);
        }
        if (statement.Status != ReportPeriod.Final)
        {
            return (null, new StatementProblem(409, $"{month} is not over yet in {statement.TimeZone}",
                $"A statement is issued once its month has ended ({statement.ScheduledEnd:O})."));
        }
        var document = Serialize(statement with { Issued = new StatementIssue(now, author, now, null) });
        return (new StatementIssued(customer, month, statement.ContractVersion, now, Sha256(document), document, author), null);
    }

    private enum Change
    {
        LateRequests,
        Downtime,
        MaintenanceAdded,
        MaintenanceCancelled,
        CalendarImported,
        ContractVersion,
    }

    private static string KindName(Change change) => change switch
    {
        Change.LateRequests => "late requests",
        Change.Downtime => "downtime",
        Change.MaintenanceAdded => "maintenance added",
        Change.MaintenanceCancelled => "maintenance cancelled",
        Change.CalendarImported => "maintenance calendar imported",
        _ => "contract version",
    };

    /// <summary>
    /// The events recorded after the issue that can change this statement, in the order recorded, taken in runs of one
    /// kind; each run's before and after are the statement as of just before and just after it (the first run's before is
    /// the issued document). A run that changed no figure is not listed.
    /// </summary>
    private static async Task<List<StatementAmendment>> AmendmentsAsync(
        IQuerySession session, SlaOptions options, string customer, string month, StatementIssued issued, DateTimeOffset? asOf, DateTimeOffset now,
        CancellationToken ct)
    {
        var before = JsonSerializer.Deserialize<Statement>(issued.Document, Json)!;
        var versions = await CustomerContractStreams.VersionsAsync(session, customer, asOf, ct);
        var services = versions.SelectMany(v => v.Terms.Services).Distinct(StringComparer.Ordinal).ToList();
        var keys = new List<string> { CustomerContractStreams.For(customer) };
        foreach (var service in services)
        {
            keys.AddRange(await KnownServices.StreamKeysAsync(session, service, ct));
            keys.Add(MaintenanceSchedule.For(service));
        }
        var periodEnd = before.ScheduledEnd ?? before.PeriodEnd;
        var streams = keys.ToArray();
        var issuedAt = issued.AsOf;
        var query = session.Events.QueryAllRawEvents().Where(e => e.StreamKey.IsOneOf(streams) && e.Timestamp > issuedAt);
        if (asOf is { } until)
        {
            query = query.Where(e => e.Timestamp <= until);
        }
        var events = await query.OrderBy(e => e.Sequence).ToListAsync(ct);
        var series = RollupSeries.Key(null, before.CustomerId);

        var runs = new List<(Change Kind, List<IEvent> Events, List<string> What)>();
        foreach (var @event in events)
        {
            if (Classify(@event, before.PeriodStart, periodEnd, series) is not { } change)
            {
                continue;
            }
            if (runs.Count == 0 || (runs[^1].Kind != change.Kind && runs.Count < MaxAmendments))
            {
                runs.Add((change.Kind, [], []));
            }
            runs[^1].Events.Add(@event);
            runs[^1].What.Add(change.What);
        }

        var amendments = new List<StatementAmendment>();
        foreach (var (kind, runEvents, what) in runs)
        {
            var last = runEvents[^1].Timestamp;
            var (after, _) = await FiguresAsync(session, options, customer, month, last, now, ct);
            if (after is null)
            {
                continue;
            }
            var changes = Diff(before, after);
            if (changes.Count > 0 || before.CreditPercent != after.CreditPercent || before.Met != after.Met)
            {
                amendments.Add(new StatementAmendment(
                    KindName(kind), Describe(kind, what), runEvents.Count, runEvents[0].Timestamp, last, changes,
                    before.CreditPercent, after.CreditPercent, before.Met, after.Met));
            }
            before = after;
        }
        return amendments;
    }

    private static (Change Kind, string What)? Classify(IEvent @event, DateTimeOffset from, DateTimeOffset to, string series)
    {
        if (RollupSeries.Recorded(@event.Data) is { } recorded)
        {
            // A statement of one customer changes with that customer's requests alone, any other with its endpoints'.
            return RollupSeries.Counts(series, recorded.Series) && recorded.Minutes.Any(m => m.Minute >= from && m.Minute < to)
                ? (Change.LateRequests, string.Create(CultureInfo.InvariantCulture,
                    $"{recorded.Service}:{recorded.Minutes.Where(m => m.Minute >= from && m.Minute < to).Sum(m => m.Requests)}"))
                : null;
        }
        return ClassifyOther(@event.Data, from, to);
    }

    private static (Change Kind, string What)? ClassifyOther(object data, DateTimeOffset from, DateTimeOffset to) => data switch
    {
        DowntimeRecorded down when down.Start < to && down.End > from =>
            (Change.Downtime, $"{down.Service} down {down.Start:yyyy-MM-dd HH:mm:ss}–{down.End:yyyy-MM-dd HH:mm:ss} UTC ({down.Reason})"),
        // A failing run that began up to a day before the period counts from the period's start (as reports read them).
        HealthChecked check when check.CheckedAt >= from.AddDays(-1) && check.CheckedAt < to =>
            (Change.Downtime, $"{check.Service} health check {check.Component} {check.Status} at {check.CheckedAt:yyyy-MM-dd HH:mm:ss} UTC"),
        MaintenanceScheduled scheduled => (Change.MaintenanceAdded, $"window '{scheduled.Id}' of {scheduled.Service} ({scheduled.Reason}) by {scheduled.Author}"),
        MaintenanceCancelled cancelled => (Change.MaintenanceCancelled, $"window '{cancelled.Id}' of {cancelled.Service} by {cancelled.Author}"),
        MaintenanceCalendarImported imported => (Change.CalendarImported, $"calendar of {imported.Service} by {imported.Author}"),
        ContractVersioned versioned => (Change.ContractVersion,
            $"version {versioned.Version} (effective {versioned.Terms.EffectiveFrom}) by {versioned.Author} ({versioned.Source})"),
        _ => null,
    };

    private static string Describe(Change kind, List<string> what)
    {
        if (kind == Change.LateRequests)
        {
            // "service:count" per event: summed per service.
            var perService = what.Select(w => (Service: w[..w.LastIndexOf(':')], Count: long.Parse(w[(w.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture)))
                .GroupBy(w => w.Service, StringComparer.Ordinal)
                .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Sum(w => w.Count):N0} requests of {g.Key}"));
            return string.Join(", ", perService) + " in the period, recorded after issue";
        }
        var distinct = what.Distinct(StringComparer.Ordinal).ToList();
        var text = string.Join("; ", distinct.Take(5));
        return distinct.Count > 5 ? string.Create(CultureInfo.InvariantCulture, $"{text}; and {distinct.Count - 5} more") : text;
    }

    /// <summary>Every figure of a statement by name; the amendments list those whose value differs.</summary>
    public static List<FigureChange> Diff(Statement before, Statement after)
    {
        var a = Flatten(before);
        var b = Flatten(after);
        var changes = new List<FigureChange>();
        foreach (var (name, value) in b)
        {
            var old = a.TryGetValue(name, out var previous) ? previous : null;
            if (old != value)
            {
                changes.Add(new FigureChange(name, old, value));
            }
        }
        foreach (var (name, value) in a)
        {
            if (!b.ContainsKey(name))
            {
                changes.Add(new FigureChange(name, value, null));
            }
        }
        return changes;
    }

    private static Dictionary<string, double?> Flatten(Statement statement)
    {
        var figures = new Dictionary<string, double?>(StringComparer.Ordinal)
        {
            ["contractVersion"] = statement.ContractVersion,
            ["maintenanceWindows"] = statement.MaintenanceWindows.Count,
        };
        foreach (var metric in statement.Metrics)
        {
            figures[$"metrics.{metric.Metric}.actual"] = metric.Actual;
            figures[$"metrics.{metric.Metric}.target"] = metric.Target;
        }
        foreach (var service in statement.Combined is null ? statement.Services : statement.Services.Append(statement.Combined))
        {
            var prefix = $"services.{service.Service}.";
            figures[prefix + "requests"] = service.Requests;
            figures[prefix + "excludedRequests"] = service.ExcludedRequests;
            figures[prefix + "errors"] = service.Errors;
            figures[prefix + "downtimeSeconds"] = service.DowntimeSeconds;
            figures[prefix + "excludedDowntimeSeconds"] = service.ExcludedDowntimeSeconds;
            figures[prefix + "maintenanceSeconds"] = service.MaintenanceSeconds;
            foreach (var (name, pair) in new[]
            {
                ("uptimePercent", service.UptimePercent), ("availabilityPercent", service.AvailabilityPercent),
                ("errorRatePercent", service.ErrorRatePercent), ("latencyP95Ms", service.LatencyP95Ms), ("latencyP99Ms", service.LatencyP99Ms),
            })
            {
                figures[prefix + name + ".raw"] = pair.Raw;
                figures[prefix + name + ".adjusted"] = pair.Adjusted;
            }
        }
        return figures;
    }
}
