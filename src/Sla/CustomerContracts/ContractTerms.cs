using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using MaestroSla.Sla.Reports;
using YamlDotNet.Serialization;

namespace MaestroSla.Sla.CustomerContracts;

/// <summary>
/// What a customer signed over one or more services: targets, how maintenance counts, and the service-credit schedule.
/// The same shape arrives as JSON (PUT /api/contracts/{customer}) and as YAML (Contracts:Directory); both are checked by
/// <see cref="Problem"/>. Mutable setters only because YamlDotNet fills objects that way; a stored version never changes.
/// </summary>
public sealed class ContractTerms
{
    public const string Combined = "combined";
    public const string Each = "each";

    public List<string> Services { get; set; } = [];

    /// <summary>
    /// The customer inside the shared services (the request messages' <c>customer</c>) whose requests alone count in
    /// availability, error rate and latency; null: every request of the services. Downtime is the services' either way.
    /// Not checked against the customers seen so far: a contract is usually signed before the customer's first request.
    /// </summary>
    public string? CustomerId { get; set; }

    public string TimeZone { get; set; } = "UTC";

    /// <summary>combined: the services as one offering (D = union of their downtime); each: every service on its own.</summary>
    public string Measure { get; set; } = Combined;

    /// <summary>yyyy-MM: the first month this version governs.</summary>
    public string EffectiveFrom { get; set; } = "";

    public ContractTargets Targets { get; set; } = new();

    public ContractMaintenance Maintenance { get; set; } = new();

    public List<CreditTier> Credits { get; set; } = [];

    public string? CreditMetric { get; set; }

    /// <summary>The terms as one canonical JSON text: two versions say the same when these are equal.</summary>
    public string Canonical() => JsonSerializer.Serialize(this, CanonicalJson);

    private static readonly JsonSerializerOptions CanonicalJson = new(JsonSerializerDefaults.Web);

    /// <summary>The JSON a client sends: camelCase, and a property we do not know is a mistake, not something to ignore.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>
    /// The first problem as (field, message), e.g. ("credits[1].percent", "must be larger than …"); null when the terms
    /// can be used. Services are checked for their names only: whether they are known is the caller's decision.
    /// </summary>
    public (string Field, string Message)? Problem(int maxNameLength)
    {
        if (Services is null || Services.Count == 0)
        {
            return ("services", "must list at least one service");
        }
        for (var i = 0; i < Services.Count; i++)
        {
            if (ReportNames.Problem(Services[i], "service", maxNameLength) is { } name)
            {
                return ($"services[{i}]", name);
            }
            if (Services.IndexOf(Services[i]) < i)
            {
                return ($"services[{i}]", $"'{Services[i]}' is listed twice");
            }
        }
        if (CustomerId is not null && ReportNames.Problem(CustomerId, "customerId", maxNameLength) is { } customerId)
        {
            return ("customerId", customerId["customerId ".Length..]);
        }
        if (string.IsNullOrEmpty(TimeZone) || ReportPeriod.Resolve(null, null, null, TimeZone, DateTimeOffset.UnixEpoch).Problem is not null)
        {
            return ("timeZone", $"'{ReportPeriod.Shorten(TimeZone ?? "")}' is not a known time zone (use an IANA name such as Europe/Berlin)");
        }
        if (Measure is not (Combined or Each))
        {
            return ("measure", "must be combined or each");
        }
        if (!DateTime.TryParseExact(EffectiveFrom, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first)
            || first.Year < ReportPeriod.Earliest.Year || first.Year >= ReportPeriod.Latest.Year)
        {
            return ("effectiveFrom", "must be a month such as 2026-10");
        }
        if (Targets is null || Targets.Count() == 0)
        {
            return ("targets", "must set at least one of uptime, availability, error_rate, latency_p95, latency_p99");
        }
        foreach (var (metric, value) in Targets.All())
        {
            if (value is not { } target)
            {
                continue;
            }
            var problem = metric switch
            {
                ContractTargets.Uptime or ContractTargets.Availability => target is <= 0 or > 100 || double.IsNaN(target) ? "must be in (0, 100]" : null,
                ContractTargets.ErrorRate => target is < 0 or > 100 || double.IsNaN(target) ? "must be in [0, 100]" : null,
                _ => target <= 0 || !double.IsFinite(target) ? "must be a positive number of milliseconds" : null,
            };
            if (problem is not null)
            {
                return ($"targets.{metric}", problem);
            }
        }
        Maintenance ??= new ContractMaintenance();
        Credits ??= [];
        for (var i = 0; i < Credits.Count; i++)
        {
            if (Credits[i] is null)
            {
                return ($"credits[{i}]", "must be an object {\"below\", \"percent\"}");
            }
            if (Credits[i].Below is <= 0 or > 100 || double.IsNaN(Credits[i].Below))
            {
                return ($"credits[{i}].below", "must be a percentage in (0, 100]");
            }
            if (Credits[i].Percent is <= 0 or > 100 || double.IsNaN(Credits[i].Percent))
            {
                return ($"credits[{i}].percent", "must be a percentage of the fee in (0, 100]");
            }
        }
        // Sorted from the mildest shortfall to the worst: each lower threshold must credit more.
        var sorted = Credits.OrderByDescending(c => c.Below).ToList();
        for (var i = 1; i < sorted.Count; i++)
        {
            var at = Credits.IndexOf(sorted[i]);
            if (sorted[i].Below == sorted[i - 1].Below)
            {
                return ($"credits[{at}].below", string.Create(CultureInfo.InvariantCulture, $"{sorted[i].Below} appears twice"));
            }
            if (sorted[i].Percent <= sorted[i - 1].Percent)
            {
                return ($"credits[{at}].percent", string.Create(CultureInfo.InvariantCulture,
                    $"must be larger than {sorted[i - 1].Percent} (the credit below {sorted[i - 1].Below}): a lower figure credits more"));
            }
        }
        if (CreditMetric is not null && CreditMetric is not (ContractTargets.Uptime or ContractTargets.Availability))
        {
            return ("creditMetric", "must be uptime or availability (credits are paid when the figure falls below a threshold)");
        }
        if (Credits.Count > 0 && CreditMetric is null)
        {
            return ("creditMetric", "is required with credits: uptime or availability");
        }
        return null;
    }

    /// <summary>The same terms with credits sorted by threshold, highest first (the stored form).</summary>
    public ContractTerms Normalized()
    {
        Credits = [.. Credits.OrderByDescending(c => c.Below)];
        return this;
    }
}

/// <summary>Targets by metric name as the issue and README spell them (uptime, availability, error_rate, latency_p95, latency_p99).</summary>
public sealed class ContractTargets
{
    public const string Uptime = "uptime";
    public const string Availability = "availability";
    public const string ErrorRate = "error_rate";
    public const string LatencyP95 = "latency_p95";
    public const string LatencyP99 = "latency_p99";

    [JsonPropertyName(Uptime)]
    [YamlMember(Alias = Uptime, ApplyNamingConventions = false)]
    public double? UptimePercent { get; set; }

    [JsonPropertyName(Availability)]
    [YamlMember(Alias = Availability, ApplyNamingConventions = false)]
    public double? AvailabilityPercent { get; set; }

    [JsonPropertyName(ErrorRate)]
    [YamlMember(Alias = ErrorRate, ApplyNamingConventions = false)]
    public double? ErrorRatePercent { get; set; }

    [JsonPropertyName(LatencyP95)]
    [YamlMember(Alias = LatencyP95, ApplyNamingConventions = false)]
    public double? LatencyP95Ms { get; set; }

    [JsonPropertyName(LatencyP99)]
    [YamlMember(Alias = LatencyP99, ApplyNamingConventions = false)]
    public double? LatencyP99Ms { get; set; }

    /// <summary>Every metric in statement order, with its target or null.</summary>
    public IEnumerable<(string Metric, double? Target)> All()
    {
        yield return (Uptime, UptimePercent);
        yield return (Availability, AvailabilityPercent);
        yield return (ErrorRate, ErrorRatePercent);
        yield return (LatencyP95, LatencyP95Ms);
        yield return (LatencyP99, LatencyP99Ms);
    }

    public int Count() => All().Count(t => t.Target is not null);
}

public sealed class ContractMaintenance
{
    /// <summary>Downtime inside maintenance windows is left out of uptime (and the windows' time out of the period).</summary>
    public bool ExcludeDowntime { get; set; }

    /// <summary>Requests of minutes inside maintenance windows are left out of availability, error rate and latency.</summary>
    public bool ExcludeRequests { get; set; }
}

/// <summary>Below this percentage of the credit metric, this percentage of the month's fee is credited.</summary>
public sealed class CreditTier
{
    public double Below { get; set; }
    public double Percent { get; set; }
}
