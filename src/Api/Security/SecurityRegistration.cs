using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Security;

public static class SecurityRegistration
{
    /// <summary>API keys, role policies, rate limits, body limits and problem details for every error answer.</summary>
    public static IHostApplicationBuilder AddMaestroSecurity(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SecurityOptions>()
            .Bind(builder.Configuration.GetSection(SecurityOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>();
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<SecurityStartupReport>();

        services.AddProblemDetails();
        services.AddExceptionHandler<ExceptionProblems>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(ApiAccess.AddPolicies);
        services.AddRateLimiter(_ => { });
        services.AddOptions<Microsoft.AspNetCore.RateLimiting.RateLimiterOptions>()
            .Configure<IOptions<SecurityOptions>, ApiKeyStore>((limiter, security, keys) => RequestLimits.Configure(limiter, security.Value, keys));
        return builder;
    }

    /// <summary>The middleware, in the order that matters: who is calling, how often, whether they may, how much they send.</summary>
    public static WebApplication UseMaestroSecurity(this WebApplication app)
    {
        app.UseExceptionHandler();
        // 401/403/404/405… without a body get a problem details body.
        app.UseStatusCodePages();
        app.UseRouting();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.Use(RequestLimits.LimitBodyAsync);
        return app;
    }

    /// <summary>Says at start whether the API is protected, naming keys and roles (never hashes).</summary>
    private sealed class SecurityStartupReport(ApiKeyStore keys, IOptions<SecurityOptions> options, ILogger<SecurityStartupReport> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (keys.IsOpen)
            {
                logger.LogWarning(
                    "NO API KEYS CONFIGURED: every /api endpoint is open to anyone who can reach this port. " +
                    "Configure Security:ApiKeys (and Security:RequireApiKeys=true) for anything but a local demo.");
            }
            else
            {
                foreach (var key in options.Value.ApiKeys)
                {
                    logger.LogInformation("API key {Name}: roles {Roles}{Services}", key.Name, string.Join(",", key.Roles),
                        key.Services.Count == 0 ? "" : "; services " + string.Join(",", key.Services));
                }
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
