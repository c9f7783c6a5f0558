using MaestroSla.Ingest.Storage;
using Marten;

namespace MaestroSla.Backup.Format;

/// <summary>Where a store keeps what a backup reads and a restore writes, resolved from its configuration.</summary>
internal sealed record StoreTables(string EventSchema, string Schema, string DeadLetterTable)
{
    public string Events => $"{EventSchema}.mt_events";
    public string Streams => $"{EventSchema}.mt_streams";
    public string Progression => $"{EventSchema}.mt_event_progression";
    public string EventSequence => $"{EventSchema}.mt_events_sequence";
    public string KafkaOffsets => $"{Schema}.{StoredKafkaOffsets.TableName}";
    public string KafkaOffsetHistory => $"{Schema}.{StoredKafkaOffsets.HistoryTableName}";

    public static StoreTables For(IDocumentStore store) => new(
        store.Options.Events.DatabaseSchemaName,
        store.Options.DatabaseSchemaName,
        store.Options.FindOrResolveDocumentType(typeof(DeadLetter)).TableName.QualifiedName);
}
