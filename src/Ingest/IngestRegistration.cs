using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Http;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Ingest.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest;

public static class IngestRegistration
{
    public static IHostApplicationBuilder AddMaestroIngest(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<KafkaIngestOptions>()
            .Bind(builder.Configuration.GetSection(KafkaIngestOptions.Section))
            .Validate(o => !string.IsNullOrWhiteSpace(o.Topic), "Kafka:Topic must not be empty")
            .Validate(o => !string.IsNullOrWhiteSpace(o.GroupId), "Kafka:GroupId must not be empty")
            .Validate(o => o.MaxBatchMessages > 0, "Kafka:MaxBatchMessages must be positive")
            .Validate(o => o.FlushInterval > TimeSpan.Zero, "Kafka:FlushInterval must be positive")
            .Validate(o => o.EmbeddedPartitions is > 0 and <= 1000, "Kafka:EmbeddedPartitions must be between 1 and 1000")
            .Validate(o => !string.Equals(o.OtlpTopic, o.Topic, StringComparison.Ordinal), "Kafka:OtlpTopic must differ from Kafka:Topic (one holds OTLP exports, the other JSON messages)")
            .ValidateOnStart();
        services.AddOptions<ContractLimits>().Bind(builder.Configuration.GetSection("Contract"));

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<KafkaBootstrap>();
        services.AddSingleton<IngestProgress>();
        services.AddOptions<IngestWriteOptions>().Bind(builder.Configuration.GetSection(IngestWriteOptions.Section))
            .Validate(o => o.HttpSlots is > 0 and <= 1024, "Ingest:Write:HttpSlots must be between 1 and 1024")
            .Validate(o => o.EndpointLimitPerService > 0, "Ingest:Write:EndpointLimitPerService must be positive")
            .Validate(o => o.CustomerLimitPerService > 0, "Ingest:Write:CustomerLimitPerService must be positive")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var write = sp.GetRequiredService<IOptions<IngestWriteOptions>>().Value;
            return new SeriesCatalog(write.EndpointLimitPerService, write.CustomerLimitPerService);
        });
        services.AddSingleton(sp => new IngestBatchWriter(
            sp.GetRequiredService<Marten.IDocumentStore>(), sp.GetRequiredService<SeriesCatalog>(), sp.GetRequiredService<IOptions<IngestWriteOptions>>().Value));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ContractLimits>>().Value);
        services.AddOptions<HttpIngestOptions>().Bind(builder.Configuration.GetSection(HttpIngestOptions.Section))
            .Validate(o => o.MaxPendingMessages > 0 && o.MaxMessagesPerWrite > 0 && o.Writers is > 0 and <= 64, "Ingest:Http limits must be positive (Writers at most 64)")
            .ValidateOnStart();
        services.AddOptions<IdempotencyOptions>().Bind(builder.Configuration.GetSection(IdempotencyOptions.Section))
            .Validate(o => o.KeyLifetime > TimeSpan.Zero, "Ingest:Idempotency:KeyLifetime must be positive")
            .ValidateOnStart();
        services.AddSingleton<IdempotentIngest>();
        services.AddHostedService<IdempotencyKeyExpiry>();
        services.AddOptions<OtlpOptions>().Bind(builder.Configuration.GetSection(OtlpOptions.Section))
            .Validate(o => o.MaxDecodedBodyBytes > 0 && o.MaxSpansPerRequest > 0, "Ingest:Otlp limits must be positive")
            .Validate(o => !string.IsNullOrEmpty(o.CustomerAttribute), "Ingest:Otlp:CustomerAttribute must not be empty")
            .ValidateOnStart();
        // As a singleton of its own, as ContractLimits: the decoder takes it, and Wolverine builds transients that take
        // registered singletons without locating services.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<OtlpOptions>>().Value);
        services.AddTransient<OtlpSpanDecoder>();
        services.AddSingleton<HttpGroupCommit>();
        services.AddHostedService(sp => sp.GetRequiredService<HttpGroupCommit>());
        // A decoder caches service names and is single-threaded: the consumer gets its own, HTTP requests make theirs.
        services.AddTransient<TelemetryDecoder>();

        var consumerEnabled = builder.Configuration.GetValue(KafkaIngestOptions.Section + ":ConsumerEnabled", true);
        if (consumerEnabled)
        {
            services.AddHostedService<TelemetryConsumer>();
            // Read when configured (the default names the Collector's topic; empty turns it off).
            var otlpTopic = builder.Configuration[$"{KafkaIngestOptions.Section}:{nameof(KafkaIngestOptions.OtlpTopic)}"] ?? new KafkaIngestOptions().OtlpTopic;
            if (!string.IsNullOrWhiteSpace(otlpTopic))
            {
                // Its own progress: the JSON topic's counters, assignment and health stay what they are.
                services.AddKeyedSingleton(OtlpTraceConsumer.ProgressKey, (sp, _) => new IngestProgress(sp.GetRequiredService<TimeProvider>()));
                services.AddHostedService(sp => ActivatorUtilities.CreateInstance<OtlpTraceConsumer>(
                    sp, sp.GetRequiredKeyedService<IngestProgress>(OtlpTraceConsumer.ProgressKey)));
            }
        }
        return builder;
    }
}
