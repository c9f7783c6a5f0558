using MaestroSla.Sla.Reports;

namespace MaestroSla.Api.Reports;

/// <summary>Configuration section "Reports": what a report query may ask for.</summary>
public sealed class ReportOptions
{
    public const string Section = "Reports";

    /// <summary>The longest from/to range of a report, series or export; longer ones are answered 400.</summary>
    public int MaxRangeDays { get; set; } = (int)ReportPeriod.DefaultMaxRange.TotalDays;

    public TimeSpan MaxRange => TimeSpan.FromDays(MaxRangeDays);
}

public static class ReportsRegistration
{
    public static IHostApplicationBuilder AddMaestroReports(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ReportOptions>()
            .Bind(builder.Configuration.GetSection(ReportOptions.Section))
            // Ten years of day rollups is still a few thousand documents per report; beyond that a 400 is kinder.
            .Validate(o => o.MaxRangeDays is >= 1 and <= 3660, "Reports:MaxRangeDays must be between 1 and 3660")
            .ValidateOnStart();
        return builder;
    }
}
