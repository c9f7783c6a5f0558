using System.Collections.Concurrent;
using Confluent.Kafka;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Local.Kafka;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shouldly;

namespace MaestroSla.Tests.Embedded;

/// <summary>
/// The embedded broker keeps only so much of each partition and drops the rest unread: its start-up warning (and the
/// README) say how much, and what to use instead, and the figure they give is what the broker actually keeps.
/// </summary>
public sealed class EmbeddedKafkaWarningTests
{
    [Fact]
    public void starting_without_kafka_warns_how_much_the_embedded_broker_keeps_and_that_figure_is_what_it_keeps()
    {
        var logs = new CapturedLogger();
        using var bootstrap = new KafkaBootstrap(Options.Create(new KafkaIngestOptions { Topic = "retention", EmbeddedPartitions = 2 }), logs, () => MockKafkaCluster.Start());

        bootstrap.IsEmbedded.ShouldBeTrue();
        var warning = logs.Entries.ShouldHaveSingleItem();
        warning.Level.ShouldBe(LogLevel.Warning);
        warning.Message.ShouldContain($"about {KafkaBootstrap.MockRetentionMiBPerPartition} MiB per partition ({2 * KafkaBootstrap.MockRetentionMiBPerPartition} MiB in all)");
        warning.Message.ShouldContain("silently drops older records");
        warning.Message.ShouldContain("set Kafka:BootstrapServers to a real Kafka cluster");
        File.ReadAllText(Path.Combine(Repository.Root, "README.md")).ShouldContain($"about {KafkaBootstrap.MockRetentionMiBPerPartition} MiB per partition");

        // 12 MiB into one partition, nothing read: the broker keeps about the stated amount and drops the oldest.
        const int size = 1024;
        const int count = 12 * 1024;
        using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap.BootstrapServers, LingerMs = 5 }).Build())
        {
            var payload = new byte[size];
            for (var i = 0; i < count; i++)
            {
                producer.ProduceWaitingForRoom(new TopicPartition("retention", 0), new Message<Null, byte[]> { Value = payload }, _ => { });
            }
            producer.Flush(TimeSpan.FromSeconds(30)).ShouldBe(0);
        }
        using var consumer = new ConsumerBuilder<Null, byte[]>(new ConsumerConfig { BootstrapServers = bootstrap.BootstrapServers, GroupId = "retention-check" }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("retention", 0), TimeSpan.FromSeconds(10));
        watermarks.High.Value.ShouldBe(count);
        watermarks.Low.Value.ShouldBeGreaterThan(0, "the oldest records were dropped");
        var keptMiB = (watermarks.High.Value - watermarks.Low.Value) * (double)size / (1024 * 1024);
        keptMiB.ShouldBeInRange(KafkaBootstrap.MockRetentionMiBPerPartition - 1.5, KafkaBootstrap.MockRetentionMiBPerPartition + 1.5);
    }

    private sealed class CapturedLogger : ILogger<KafkaBootstrap>
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
