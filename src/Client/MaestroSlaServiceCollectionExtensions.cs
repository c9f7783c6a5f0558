using MaestroSla.Client;
using MaestroSla.Client.Buffering;
using MaestroSla.Client.Recording;
using MaestroSla.Client.Sending;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

// In the namespace of AddHttpClient, AddHealthChecks …: an app needs no using for it.
namespace Microsoft.Extensions.DependencyInjection;

public static class MaestroSlaServiceCollectionExtensions
{
    /// <summary>
    /// The MaestroSla client: configuration from the "MaestroSla" section, then <paramref name="configure"/>; the
    /// buffer, the sender, the health-check publisher and <see cref="MaestroSlaReporter"/>. Bad configuration stops the
    /// app at start. Record requests with <c>app.UseMaestroSla()</c>.
    /// </summary>
    public static IServiceCollection AddMaestroSla(this IServiceCollection services, Action<MaestroSlaOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<MaestroSlaOptions>();
        if (services.Any(d => d.ServiceType == typeof(TelemetryBuffer)))
        {
            // Called again: only the further configuration counts.
            if (configure is not null)
            {
                options.Configure(configure);
            }
            return services;
        }
        options.BindConfiguration(MaestroSlaOptions.Section);
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.PostConfigure<IHostEnvironment>((o, environment) => o.Service ??= environment.ApplicationName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MaestroSlaOptions>, MaestroSlaOptionsValidation>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TelemetryBuffer>();
        services.AddSingleton(sp => new MaestroSlaReporter(
            sp.GetRequiredService<IOptions<MaestroSlaOptions>>().Value.Service!, sp.GetRequiredService<TelemetryBuffer>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<ITelemetryTransport>(CreateTransport);
        services.AddHostedService<TelemetrySender>();

        // AddHealthChecks runs the publisher service (every HealthCheckPublisherOptions.Period); an app without checks
        // publishes nothing.
        services.AddHealthChecks();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHealthCheckPublisher, HealthCheckResultsPublisher>());

        // The client's own timeout is per attempt (below); HttpClient's would cut the retries short.
        services.AddHttpClient(MaestroSlaOptions.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddResilienceHandler("maestrosla-ingest", static (pipeline, context) =>
            {
                var http = context.ServiceProvider.GetRequiredService<IOptions<MaestroSlaOptions>>().Value.Http;
                if (http.MaxRetries > 0)
                {
                    // Network errors, timeouts, 408, 429 and 5xx; Retry-After is honoured. POST is safe to retry: the
                    // same Idempotency-Key is sent again.
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = http.MaxRetries,
                        Delay = http.RetryDelay,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                    });
                }
                pipeline.AddTimeout(http.AttemptTimeout);
            });
        return services;
    }

    private static ITelemetryTransport CreateTransport(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<MaestroSlaOptions>>().Value;
        var buffer = services.GetRequiredService<TelemetryBuffer>();
        var logs = services.GetRequiredService<ILoggerFactory>();
        return options.Transport == MaestroSlaTransport.Kafka
            ? new KafkaTransport(options.Kafka, buffer, logs.CreateLogger<KafkaTransport>())
            : new HttpTransport(services.GetRequiredService<IHttpClientFactory>(), options.Http, options.FlushInterval, buffer, logs.CreateLogger<HttpTransport>());
    }
}
