using HealthChecks.NpgSql;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using MaestroSla.Api.Backups;
using MaestroSla.Api.Store;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Marten.Events.Daemon;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace MaestroSla.Api.Operations;

/// <summary>Probes (/healthz, /ready, /health) on ASP.NET Core health checks, and Prometheus metrics on /metrics.</summary>
public static class OperationsRegistration
{
    /// <summary>Liveness: the process answers. Never a dependency, or an outage would restart every replica.</summary>
    public const string Live = "live";

    /// <summary>Readiness: this replica can serve now (and ingest, where it does ingest alone).</summary>
    public const string Ready = "ready";

    // The name Marten registers its check under, replaced by ours.
    private const string MartenHighWaterCheck = "HighWaterHealthCheck";

    public static IHostApplicationBuilder AddMaestroOperations(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(OperationsOptions.Section);
        services.AddOptions<OperationsOptions>()
            .Bind(section)
            .Validate(o => o.MaxConsumerLag >= 0, "Operations:MaxConsumerLag must not be negative")
            .Validate(o => o.MaxProjectionLag >= 1, "Operations:MaxProjectionLag must be at least 1")
            .Validate(o => o.DependencyTimeout > TimeSpan.Zero, "Operations:DependencyTimeout must be positive")
            .Validate(o => o.SampleInterval > TimeSpan.Zero, "Operations:SampleInterval must be positive")
            .Validate(o => o.IngestFailuresBeforeDegraded >= 1, "Operations:IngestFailuresBeforeDegraded must be at least 1")
            .Validate(o => o.IngestStalledAfter > TimeSpan.Zero, "Operations:IngestStalledAfter must be positive")
            .Validate(o => o.IngestUnhealthyAfter > TimeSpan.Zero, "Operations:IngestUnhealthyAfter must be positive")
            .ValidateOnStart();
        // Which checks exist is decided at start-up, from the same settings ingest reads.
        var operations = section.Get<OperationsOptions>() ?? new OperationsOptions();
        var kafka = builder.Configuration.GetSection(KafkaIngestOptions.Section).Get<KafkaIngestOptions>() ?? new KafkaIngestOptions();
        var timeout = operations.DependencyTimeout;

        services.AddSingleton<OperationsSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<OperationsSampler>());
        var daemonMode = MaestroStore.ProjectionDaemon(builder.Configuration);
        services.AddSingleton(sp => new ProjectionDaemonMonitor(sp, daemonMode, sp.GetRequiredService<ILogger<ProjectionDaemonMonitor>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ProjectionDaemonMonitor>());
        if (daemonMode == DaemonMode.HotCold)
        {
            // Wolverine subscribes these to the daemon of every projection shard it starts on this node.
            services.AddSingleton<IObserver<ShardState>>(sp => sp.GetRequiredService<ProjectionDaemonMonitor>());
        }
        services.AddSingleton<MaestroMetrics>();

        // Readiness is about serving: a replica that answers reports needs PostgreSQL and the schema, nothing else.
        // Kafka, the consumer, the projections and backups say how the pipeline fares on /health, the metrics and
        // the alerts; taking report replicas out of the load balancer for them would only add an outage. Only a
        // replica that does ingest alone (Operations:ReadinessIncludesIngest) is unready without Kafka.
        var ingestReadiness = operations.ReadinessIncludesIngest && kafka.ConsumerEnabled ? new[] { Ready } : [];
        var checks = services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy("the process answers"), tags: [Live])
            .Add(new HealthCheckRegistration("postgresql", PostgreSqlCheck, failureStatus: null, tags: [Ready], timeout))
            .AddCheck<EventStoreSchemaHealthCheck>("event-store-schema", tags: [Ready], timeout: timeout)
            .AddCheck<BackupTargetHealthCheck>("backup-target", failureStatus: HealthStatus.Degraded, timeout: timeout)
            // Lag of every async projection and shards halted by errors, whichever process runs the daemon.
            .AddCheck<ProjectionsHealthCheck>("projections")
            .AddCheck<CardinalityHealthCheck>("cardinality")
            // The lag check cannot see a frozen high-water mark (projections catch up to it and look fine); this
            // one can. It says something about the store, not this replica, so it shows on /health only.
            .AddMartenHighWaterHealthCheck();
        if (OperationsSampler.UsesKafka(kafka))
        {
            checks.AddCheck<KafkaHealthCheck>("kafka", tags: ingestReadiness);
        }
        if (kafka.ConsumerEnabled)
        {
            checks.AddCheck<IngestHealthCheck>("ingest");
            checks.AddCheck<ConsumerAssignmentHealthCheck>("kafka-consumer-assignment", tags: ingestReadiness);
            checks.AddCheck<ConsumerLagHealthCheck>("kafka-consumer-lag", tags: ingestReadiness);
        }
        if (builder.Configuration.GetSection(BackupScheduleOptions.Section).Get<BackupScheduleOptions>() is { Enabled: true })
        {
            checks.AddCheck<BackupAgeHealthCheck>("backup-age");
        }

        // Marten registers its check under a fixed name: give it ours and a timeout.
        services.Configure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                if (registration.Name == MartenHighWaterCheck)
                {
                    registration.Name = "projection-high-water";
                    registration.Timeout = timeout;
                }
            }
        });

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("MaestroSla"))
            .WithMetrics(metrics => metrics
                .AddMeter(MaestroMetrics.MeterName)
                .AddMeter(SeriesCatalog.MeterName)
                .AddMeter(MaestroSla.Ingest.Otlp.OtlpSpanDecoder.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapMaestroOperations(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", Probe(registration => registration.Tags.Contains(Live)));
        app.MapHealthChecks("/ready", Probe(registration => registration.Tags.Contains(Ready)));
        app.MapHealthChecks("/health", Probe(_ => true));
        app.MapPrometheusScrapingEndpoint("/metrics");

        // Observable instruments must exist before the first scrape, not when something first asks for them.
        app.Services.GetRequiredService<MaestroMetrics>();
        return app;
    }

    // AspNetCore.HealthChecks.NpgSql, asking for the server version so the report says which server answered.
    // The connection string is read when the check runs, so registration order does not matter (the embedded
    // server's is put into configuration while the store is added).
    private static NpgSqlHealthCheck PostgreSqlCheck(IServiceProvider services) =>
        new(new NpgSqlHealthCheckOptions(
            services.GetRequiredService<IConfiguration>().GetConnectionString(MaestroStore.ConnectionStringName)!)
        {
            CommandText = "show server_version",
            HealthCheckResultBuilder = version => HealthCheckResult.Healthy($"PostgreSQL {version} answers"),
        });

    private static HealthCheckOptions Probe(Func<HealthCheckRegistration, bool> predicate) => new()
    {
        Predicate = predicate,
        ResponseWriter = HealthResponse.WriteAsync,
    };
}
