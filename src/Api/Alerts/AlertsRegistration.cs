using Microsoft.Extensions.DependencyInjection.Extensions;
using Wolverine;

namespace MaestroSla.Api.Alerts;

public static class AlertsRegistration
{
    /// <summary>
    /// Burn-rate alerting: its options, the evaluation schedule and the durable webhook queue. The alert events and
    /// projection are registered with the store by <c>ConfigureSlaAlerts</c>; the targets are the services' SLA
    /// targets (Sla:Defaults, Sla:Services, or set through the API).
    /// </summary>
    public static IHostApplicationBuilder AddSlaAlerts(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SlaAlertOptions>()
            .Bind(builder.Configuration.GetSection(SlaAlertOptions.Section))
            .Validate(o => o.EvaluateEvery >= TimeSpan.Zero, "Sla:Alerts:EvaluateEvery must not be negative")
            .Validate(o => o.MinimumRequests >= 0, "Sla:Alerts:MinimumRequests must not be negative")
            .Validate(o => o.MaxProjectionLag >= TimeSpan.Zero, "Sla:Alerts:MaxProjectionLag must not be negative")
            .Validate(o => o.WebhookUrl is null || (o.WebhookUrl.IsAbsoluteUri && o.WebhookUrl.Scheme is "http" or "https"),
                "Sla:Alerts:WebhookUrl must be an absolute http(s) URL")
            .ValidateOnStart();
        // Ingest registers the same; alerting must not depend on being composed after it.
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(SlaAlertNotificationHandler.HttpClientName, client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddHostedService<SlaAlertScheduler>();

        services.ConfigureWolverine(options =>
        {
            // Notifications are stored with the alert events in one transaction and handled from this queue's
            // durable inbox, so a crash between the two never loses one.
            options.LocalQueueFor<SlaAlertNotification>().UseDurableInbox();
        });
        return builder;
    }
}
