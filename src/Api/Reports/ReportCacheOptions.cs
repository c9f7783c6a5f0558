using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Reports;

public enum ReportCachePolicy
{
    /// <summary>Least recently used (BitFaster ConcurrentLru).</summary>
    Lru,

    /// <summary>Least frequently used (BitFaster ConcurrentLfu, W-TinyLFU).</summary>
    Lfu,

    /// <summary>Least recently used, and nothing older than Caching:Ttl (BitFaster ConcurrentTLru).</summary>
    Ttl,
}

/// <summary>Configuration section "Caching": the report cache.</summary>
public sealed class ReportCacheOptions
{
    public const string Section = "Caching";

    public bool Enabled { get; set; } = true;

    public ReportCachePolicy Policy { get; set; } = ReportCachePolicy.Lru;

    /// <summary>Reports kept (each is a few kilobytes).</summary>
    public int Capacity { get; set; } = 1000;

    /// <summary>For the Ttl policy: how long a report is kept after it was computed.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Compute every service's report for the current month in the background at start.</summary>
    public bool WarmOnStart { get; set; } = true;

    /// <summary>
    /// A report as of a moment at least this far in the past cannot change any more (no transaction still open then
    /// can commit events stamped before it), so it is cached without the store positions in its key.
    /// </summary>
    public TimeSpan AsOfSettledAfter { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class ReportCacheOptionsValidator : IValidateOptions<ReportCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ReportCacheOptions options)
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(options.Policy))
        {
            problems.Add($"{ReportCacheOptions.Section}:Policy must be one of {string.Join(", ", Enum.GetNames<ReportCachePolicy>())}");
        }
        // BitFaster's ConcurrentLru splits its capacity over three queues.
        if (options.Capacity < 3)
        {
            problems.Add($"{ReportCacheOptions.Section}:Capacity must be at least 3");
        }
        if (options.Ttl <= TimeSpan.Zero)
        {
            problems.Add($"{ReportCacheOptions.Section}:Ttl must be positive");
        }
        if (options.AsOfSettledAfter < TimeSpan.Zero)
        {
            problems.Add($"{ReportCacheOptions.Section}:AsOfSettledAfter must not be negative");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
