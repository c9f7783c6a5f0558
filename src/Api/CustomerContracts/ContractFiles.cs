using MaestroSla.Contracts.Messages;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Reports;
using Marten;
using Microsoft.Extensions.Options;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MaestroSla.Api.CustomerContracts;

/// <summary>Configuration section "Contracts".</summary>
public sealed class ContractFilesOptions
{
    public const string Section = "Contracts";

    /// <summary>A folder of *.yaml (and *.yml) contracts, one customer per file; relative to the folder the service runs in. Empty: none.</summary>
    public string? Directory { get; set; }
}

/// <summary>The file as written: the terms, and optionally the customer.</summary>
public sealed class ContractFile
{
    public string? Customer { get; set; }
    public List<string> Services { get; set; } = [];
    public string? CustomerId { get; set; }
    public string TimeZone { get; set; } = "UTC";
    public string Measure { get; set; } = ContractTerms.Combined;
    public string EffectiveFrom { get; set; } = "";
    public ContractTargets Targets { get; set; } = new();
    public ContractMaintenance Maintenance { get; set; } = new();
    public List<CreditTier> Credits { get; set; } = [];
    public string? CreditMetric { get; set; }
}

/// <summary>
/// Contracts kept in files (under version control, reviewed like code) become versions at start: each file's terms are
/// recorded as a new version when they differ from the customer's newest, so restarting changes nothing and editing a
/// file adds one version. A file that is not a valid contract stops the start, naming the file and the field. The
/// customer is the file's `customer:` key, else its name. Services are taken as given (like Sla:Services, configuration
/// may come before the data), unlike PUT, which refuses services nobody knows.
/// </summary>
public sealed class ContractFiles(IDocumentStore store, IOptions<ContractFilesOptions> options, IOptions<ContractLimits> limits, ILogger<ContractFiles> logger)
    : IHostedService
{
    private static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(CamelCaseNamingConvention.Instance)
        .Build();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Value.Directory))
        {
            return;
        }
        var folder = Path.GetFullPath(options.Value.Directory);
        if (!System.IO.Directory.Exists(folder))
        {
            throw new InvalidOperationException($"Contracts:Directory '{options.Value.Directory}' does not exist");
        }
        var files = System.IO.Directory.EnumerateFiles(folder, "*.yaml").Concat(System.IO.Directory.EnumerateFiles(folder, "*.yml")).Order(StringComparer.Ordinal).ToList();
        var parsed = files.Select(f => Read(f, limits.Value.MaxNameLength)).ToList();
        var duplicate = parsed.GroupBy(p => p.Customer, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Contracts:Directory holds customer '{duplicate.Key}' in more than one file: {string.Join(", ", duplicate.Select(d => d.File))}");
        }
        foreach (var (file, customer, terms) in parsed)
        {
            await using var session = store.LightweightSession();
            await CustomerContractStreams.LockForNewVersionAsync(session, customer, cancellationToken);
            var versions = await CustomerContractStreams.VersionsAsync(session, customer, null, cancellationToken);
            if (versions.Count > 0 && versions[^1].Terms.Canonical() == terms.Canonical())
            {
                continue;
            }
            var version = versions.Count == 0 ? 1 : versions[^1].Version + 1;
            session.Events.Append(CustomerContractStreams.For(customer), new ContractVersioned(customer, version, terms, "configuration", $"file:{file}"));
            await session.SaveChangesAsync(cancellationToken);
            logger.LogInformation("Contract of {Customer}: version {Version} from {File}", customer, version, file);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>One file's customer and terms, or an exception naming the file and the field.</summary>
    public static (string File, string Customer, ContractTerms Terms) Read(string path, int maxNameLength)
    {
        var name = Path.GetFileName(path);
        ContractFile? file;
        try
        {
            file = Yaml.Deserialize<ContractFile>(File.ReadAllText(path));
        }
        catch (YamlException ex)
        {
            throw new InvalidOperationException($"Contracts:Directory: {name} is not a valid contract (line {ex.Start.Line}): {ex.InnerException?.Message ?? ex.Message}", ex);
        }
        if (file is null)
        {
            throw new InvalidOperationException($"Contracts:Directory: {name} is empty");
        }
        var customer = file.Customer ?? Path.GetFileNameWithoutExtension(path);
        if (ReportNames.Problem(customer, "customer", maxNameLength) is { } nameProblem)
        {
            throw new InvalidOperationException($"Contracts:Directory: {name}: {nameProblem}");
        }
        var terms = new ContractTerms
        {
            Services = file.Services ?? [],
            CustomerId = file.CustomerId,
            TimeZone = file.TimeZone,
            Measure = file.Measure,
            EffectiveFrom = file.EffectiveFrom,
            Targets = file.Targets ?? new ContractTargets(),
            Maintenance = file.Maintenance ?? new ContractMaintenance(),
            Credits = file.Credits ?? [],
            CreditMetric = file.CreditMetric,
        };
        if (terms.Problem(maxNameLength) is { } problem)
        {
            throw new InvalidOperationException($"Contracts:Directory: {name}: {problem.Field} {problem.Message}");
        }
        return (name, customer, terms.Normalized());
    }
}

public static class ContractsRegistration
{
    public static IHostApplicationBuilder AddMaestroContracts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ContractFilesOptions>().Bind(builder.Configuration.GetSection(ContractFilesOptions.Section));
        builder.Services.AddHostedService<ContractFiles>();
        return builder;
    }
}
