using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using MaestroSla.Contracts.Targets;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MaestroSla.Sla.Targets;

/// <summary>
/// A service's targets as OpenSLO v1 documents, and back. Per service: one <c>Service</c> and five <c>SLO</c>
/// documents — availability (good / total requests), error rate (bad / total requests), P95 and P99 latency
/// (threshold objectives: 95 % / 99 % of requests under the target) and uptime (time slices of one minute).
/// Each SLO carries the annotation <c>maestrosla/objective</c>; documents without it (written by hand or by
/// another tool) are recognised by their shape. Numbers are written as decimals, so the targets come back
/// bit for bit.
/// </summary>
public static class OpenSlo
{
    public const string ApiVersion = "openslo/v1";
    public const string ObjectiveAnnotation = "maestrosla/objective";
    public const string SourceType = "MaestroSla";

    public const string Availability = "availability";
    public const string ErrorRate = "error_rate";
    public const string LatencyP95 = "latency_p95";
    public const string LatencyP99 = "latency_p99";
    public const string Uptime = "uptime";

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull | DefaultValuesHandling.OmitEmptyCollections)
        .DisableAliases()
        .Build();

    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .IgnoreUnmatchedProperties()
        .Build();

    /// <summary>One YAML stream (documents separated by <c>---</c>) holding every service's objectives.</summary>
    public static string Export(IEnumerable<(string Service, SlaTargets Targets)> services)
    {
        var text = new StringBuilder();
        foreach (var (service, targets) in services)
        {
            foreach (var document in Documents(service, targets))
            {
                text.Append("---\n");
                text.Append(Serializer.Serialize(document));
            }
        }
        return text.ToString();
    }

    public static IEnumerable<OpenSloDocument> Documents(string service, SlaTargets targets)
    {
        var name = NameFor(service);
        yield return new OpenSloDocument
        {
            Kind = "Service",
            Metadata = new OpenSloMetadata { Name = name, DisplayName = service },
            Spec = new OpenSloSpec { Description = $"{service} as measured by MaestroSla" },
        };
        yield return Slo(service, name, Availability, "Availability", "Share of requests that did not fail.",
            new OpenSloIndicatorSpec { RatioMetric = new OpenSloRatioMetric { Counter = true, Good = Source(service, "good_requests"), Total = Source(service, "requests") } },
            "Occurrences", new OpenSloObjective { DisplayName = "availability", TargetPercent = ToDecimal(targets.AvailabilityPercent) });
        yield return Slo(service, name, ErrorRate, "Error rate", "Failed requests stay under the error rate target: the share of good requests stays above 100 % minus it.",
            new OpenSloIndicatorSpec { RatioMetric = new OpenSloRatioMetric { Counter = true, Bad = Source(service, "error_requests"), Total = Source(service, "requests") } },
            "Occurrences", new OpenSloObjective { DisplayName = "error rate", TargetPercent = 100m - ToDecimal(targets.ErrorRatePercent) });
        yield return Slo(service, name, LatencyP95, "Latency P95", "95 % of requests complete faster than the value (ms): P95 below it.",
            new OpenSloIndicatorSpec { ThresholdMetric = Source(service, "latency_ms") },
            "Occurrences", new OpenSloObjective { DisplayName = "p95", Op = "lt", Value = ToDecimal(targets.P95Ms), TargetPercent = 95 });
        yield return Slo(service, name, LatencyP99, "Latency P99", "99 % of requests complete faster than the value (ms): P99 below it.",
            new OpenSloIndicatorSpec { ThresholdMetric = Source(service, "latency_ms") },
            "Occurrences", new OpenSloObjective { DisplayName = "p99", Op = "lt", Value = ToDecimal(targets.P99Ms), TargetPercent = 99 });
        yield return Slo(service, name, Uptime, "Uptime", "Share of time the service was up: reported downtime and failing health checks, merged (MaestroSla counts it to the second).",
            new OpenSloIndicatorSpec { RatioMetric = new OpenSloRatioMetric { Counter = false, Good = Source(service, "up_seconds"), Total = Source(service, "seconds") } },
            "Timeslices", new OpenSloObjective { DisplayName = "uptime", TargetPercent = ToDecimal(targets.UptimePercent), TimeSliceTarget = 1, TimeSliceWindow = "1m" });
    }

    /// <summary>
    /// The targets of every service named in the SLO documents of <paramref name="yaml"/>. Other kinds are
    /// skipped. Each service needs all five objectives, and the targets must be valid.
    /// </summary>
    /// <exception cref="OpenSloFormatException">What is missing or wrong, naming the service and document.</exception>
    public static List<(string Service, SlaTargets Targets)> Import(string yaml)
    {
        var found = new Dictionary<string, Dictionary<string, decimal>>(StringComparer.Ordinal);
        var order = new List<string>();
        var index = 0;
        foreach (var document in Parse(yaml))
        {
            index++;
            if (document is null || !string.Equals(document.Kind, "SLO", StringComparison.Ordinal))
            {
                continue;
            }
            var label = $"document {index} ({document.Metadata?.Name ?? "unnamed"})";
            if (!string.Equals(document.ApiVersion, ApiVersion, StringComparison.Ordinal))
            {
                throw new OpenSloFormatException($"{label}: apiVersion must be {ApiVersion}, not '{document.ApiVersion}'");
            }
            var service = document.Spec?.Service;
            if (string.IsNullOrWhiteSpace(service))
            {
                throw new OpenSloFormatException($"{label}: spec.service is required");
            }
            var objectives = document.Spec!.Objectives;
            if (objectives is not { Count: 1 })
            {
                throw new OpenSloFormatException($"{label}: MaestroSla reads exactly one objective per SLO, found {objectives?.Count ?? 0}");
            }
            var objective = objectives[0];
            var kind = ObjectiveOf(document, objective) ?? throw new OpenSloFormatException(
                $"{label}: cannot tell which target this is; set the annotation {ObjectiveAnnotation} to one of {Availability}, {ErrorRate}, {LatencyP95}, {LatencyP99}, {Uptime}");
            var value = kind switch
            {
                LatencyP95 or LatencyP99 => objective.Value ?? throw new OpenSloFormatException($"{label}: a latency objective needs value (ms)"),
                ErrorRate => 100m - Percent(objective, label),
                _ => Percent(objective, label),
            };

            if (!found.TryGetValue(service, out var values))
            {
                values = [];
                found.Add(service, values);
                order.Add(service);
            }
            if (!values.TryAdd(kind, value))
            {
                throw new OpenSloFormatException($"{label}: service '{service}' has more than one {kind} objective");
            }
        }

        var result = new List<(string, SlaTargets)>(order.Count);
        foreach (var service in order)
        {
            var values = found[service];
            var missing = new[] { Availability, ErrorRate, LatencyP95, LatencyP99, Uptime }.Where(k => !values.ContainsKey(k)).ToList();
            if (missing.Count > 0)
            {
                throw new OpenSloFormatException($"service '{service}': missing {string.Join(", ", missing)} (all five targets are needed)");
            }
            var targets = new SlaTargets
            {
                UptimePercent = (double)values[Uptime],
                AvailabilityPercent = (double)values[Availability],
                P95Ms = (double)values[LatencyP95],
                P99Ms = (double)values[LatencyP99],
                ErrorRatePercent = (double)values[ErrorRate],
            };
            if (targets.Problem() is { } problem)
            {
                throw new OpenSloFormatException($"service '{service}': {problem}");
            }
            result.Add((service, targets));
        }
        if (result.Count == 0)
        {
            throw new OpenSloFormatException("no OpenSLO SLO documents found");
        }
        return result;
    }

    /// <summary>
    /// An RFC 1123 name (lowercase letters, digits, '-', at most 63 characters with the longest suffix). Names
    /// that had to change get a short hash of the service name, so two services never share a name.
    /// </summary>
    public static string NameFor(string service)
    {
        var slug = new StringBuilder(service.Length);
        foreach (var c in service.ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }
        var name = slug.ToString().Trim('-');
        const int maxLength = 63 - 12; // "-availability" and "-latency-p95" fit after it
        if (name != service || name.Length > maxLength)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(service)))[..8];
            name = (name.Length > maxLength - 9 ? name[..(maxLength - 9)].TrimEnd('-') : name) + (name.Length == 0 ? "" : "-") + hash;
        }
        return name;
    }

    private static OpenSloDocument Slo(
        string service, string serviceName, string objective, string displayName, string description,
        OpenSloIndicatorSpec indicator, string budgetingMethod, OpenSloObjective target) =>
        new()
        {
            Kind = "SLO",
            Metadata = new OpenSloMetadata
            {
                Name = $"{serviceName}-{objective.Replace('_', '-')}",
                DisplayName = $"{service} {displayName.ToLowerInvariant()}",
                Annotations = new Dictionary<string, string> { [ObjectiveAnnotation] = objective },
            },
            Spec = new OpenSloSpec
            {
                Description = description,
                Service = service,
                Indicator = new OpenSloIndicator
                {
                    Metadata = new OpenSloMetadata { Name = $"{serviceName}-{objective.Replace('_', '-')}-sli" },
                    Spec = indicator,
                },
                // Reports are per calendar month in the zone the analyst asks for; UTC is the default.
                TimeWindow = [new OpenSloTimeWindow { Duration = "1M", IsRolling = false, Calendar = new OpenSloCalendar { StartTime = "2020-01-01 00:00:00", TimeZone = "UTC" } }],
                BudgetingMethod = budgetingMethod,
                Objectives = [target],
            },
        };

    private static OpenSloMetric Source(string service, string metric) => new()
    {
        MetricSource = new OpenSloMetricSource
        {
            Type = SourceType,
            Spec = new Dictionary<string, object?> { ["service"] = service, ["endpoint"] = "*", ["metric"] = metric },
        },
    };

    private static string? ObjectiveOf(OpenSloDocument document, OpenSloObjective objective)
    {
        if (document.Metadata?.Annotations is { } annotations && annotations.TryGetValue(ObjectiveAnnotation, out var annotated))
        {
            return annotated is Availability or ErrorRate or LatencyP95 or LatencyP99 or Uptime ? annotated : null;
        }
        // Written elsewhere: recognise the shape.
        var spec = document.Spec!;
        var indicator = spec.Indicator?.Spec;
        if (string.Equals(spec.BudgetingMethod, "Timeslices", StringComparison.OrdinalIgnoreCase))
        {
            return Uptime;
        }
        if (indicator?.ThresholdMetric is not null)
        {
            var percent = objective.TargetPercent ?? (objective.Target * 100);
            return percent == 95 ? LatencyP95 : percent == 99 ? LatencyP99 : null;
        }
        return indicator?.RatioMetric switch
        {
            { Bad: not null } => ErrorRate,
            { Good: not null } => Availability,
            _ => null,
        };
    }

    private static decimal Percent(OpenSloObjective objective, string label) =>
        objective.TargetPercent ?? (objective.Target * 100) ?? throw new OpenSloFormatException($"{label}: the objective needs target or targetPercent");

    private static List<OpenSloDocument?> Parse(string yaml)
    {
        var documents = new List<OpenSloDocument?>();
        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            while (parser.Accept<DocumentStart>(out _))
            {
                documents.Add(Deserializer.Deserialize<OpenSloDocument?>(parser));
            }
        }
        catch (YamlException ex)
        {
            throw new OpenSloFormatException($"not valid OpenSLO YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        return documents;
    }

    private static decimal ToDecimal(double value) => (decimal)value;
}

public sealed class OpenSloFormatException : Exception
{
    public OpenSloFormatException()
    {
    }

    public OpenSloFormatException(string message)
        : base(message)
    {
    }

    public OpenSloFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

// The subset of OpenSLO v1 that MaestroSla writes and reads; unknown fields are ignored when reading.
#pragma warning disable CA2227 // YamlDotNet sets the collections.
public sealed class OpenSloDocument
{
    public string ApiVersion { get; set; } = OpenSlo.ApiVersion;
    public string Kind { get; set; } = "";
    public OpenSloMetadata? Metadata { get; set; }
    public OpenSloSpec? Spec { get; set; }
}

public sealed class OpenSloMetadata
{
    public string Name { get; set; } = "";
    public string? DisplayName { get; set; }
    public Dictionary<string, string>? Annotations { get; set; }
}

public sealed class OpenSloSpec
{
    public string? Description { get; set; }
    public string? Service { get; set; }
    public OpenSloIndicator? Indicator { get; set; }
    public List<OpenSloTimeWindow>? TimeWindow { get; set; }
    public string? BudgetingMethod { get; set; }
    public List<OpenSloObjective>? Objectives { get; set; }
}

public sealed class OpenSloIndicator
{
    public OpenSloMetadata? Metadata { get; set; }
    public OpenSloIndicatorSpec? Spec { get; set; }
}

public sealed class OpenSloIndicatorSpec
{
    public OpenSloMetric? ThresholdMetric { get; set; }
    public OpenSloRatioMetric? RatioMetric { get; set; }
}

public sealed class OpenSloRatioMetric
{
    public bool? Counter { get; set; }
    public OpenSloMetric? Good { get; set; }
    public OpenSloMetric? Bad { get; set; }
    public OpenSloMetric? Total { get; set; }
}

public sealed class OpenSloMetric
{
    public OpenSloMetricSource? MetricSource { get; set; }
}

public sealed class OpenSloMetricSource
{
    public string? MetricSourceRef { get; set; }
    public string? Type { get; set; }
    public Dictionary<string, object?>? Spec { get; set; }
}

public sealed class OpenSloTimeWindow
{
    public string? Duration { get; set; }
    public bool? IsRolling { get; set; }
    public OpenSloCalendar? Calendar { get; set; }
}

public sealed class OpenSloCalendar
{
    public string? StartTime { get; set; }
    public string? TimeZone { get; set; }
}

public sealed class OpenSloObjective
{
    public string? DisplayName { get; set; }
    public string? Op { get; set; }
    public decimal? Value { get; set; }
    public decimal? Target { get; set; }
    public decimal? TargetPercent { get; set; }
    public decimal? TimeSliceTarget { get; set; }
    public string? TimeSliceWindow { get; set; }
}
#pragma warning restore CA2227
