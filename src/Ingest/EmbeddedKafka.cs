namespace MaestroSla.Ingest;

/// <summary>
/// A Kafka cluster a process starts for itself when Kafka:BootstrapServers is empty (the local harness in src/Local
/// provides librdkafka's mock cluster). Ingest knows only this shape, so the harness stays out of its dependencies.
/// </summary>
public interface IEmbeddedKafka : IDisposable
{
    string BootstrapServers { get; }

    void CreateTopic(string topic, int partitions);
}
