using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Reports;

public static class CachingRegistration
{
    public static IHostApplicationBuilder AddMaestroReportCache(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ReportCacheOptions>()
            .Bind(builder.Configuration.GetSection(ReportCacheOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ReportCacheOptions>, ReportCacheOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<ReportCache>();
        services.AddSingleton<ReportCacheWarmer>();
        services.AddHostedService(sp => sp.GetRequiredService<ReportCacheWarmer>());
        return builder;
    }
}
