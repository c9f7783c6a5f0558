using MaestroSla.Contracts.Events;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Ingest.Storage;
using Marten;

namespace MaestroSla.Ingest;

public static class IngestStoreConfiguration
{
    /// <summary>What ingest writes besides events: dead letters, the stored Kafka offsets, the series and customer catalogues and HTTP idempotency keys.</summary>
    public static StoreOptions ConfigureIngest(this StoreOptions options)
    {
        options.ConfigureTelemetryEvents();
        options.Schema.For<DeadLetter>()
            .Identity(x => x.Id)
            .Index(x => x.ReceivedAt);
        options.Storage.ExtendedSchemaObjects.Add(StoredKafkaOffsets.Table(options.DatabaseSchemaName));
        options.Storage.ExtendedSchemaObjects.Add(StoredKafkaOffsets.HistoryTable(options.DatabaseSchemaName));
        options.Storage.ExtendedSchemaObjects.Add(SeriesCatalog.Table(options.DatabaseSchemaName));
        options.Storage.ExtendedSchemaObjects.Add(SeriesCatalog.CustomerTable(options.DatabaseSchemaName));
        options.Storage.ExtendedSchemaObjects.Add(IdempotencyKeys.Table(options.DatabaseSchemaName));
        return options;
    }
}
