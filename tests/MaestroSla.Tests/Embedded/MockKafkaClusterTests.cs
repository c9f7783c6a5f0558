using Confluent.Kafka;
using MaestroSla.Local.Kafka;
using Shouldly;
using Xunit;

namespace MaestroSla.Tests.Embedded;

public sealed class MockKafkaClusterTests
{
    private const int Partitions = 16;
    private static readonly TimeSpan MetadataTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public void a_created_topic_reports_its_partition_count_to_another_client()
    {
        using var cluster = MockKafkaCluster.Start();
        cluster.CreateTopic("metrics", Partitions);

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        var topic = admin.GetMetadata("metrics", MetadataTimeout).Topics.ShouldHaveSingleItem();

        topic.Error.Code.ShouldBe(ErrorCode.NoError);
        topic.Partitions.Count.ShouldBe(Partitions);
    }

    [Fact]
    public void a_consumer_group_reads_back_every_message_from_every_partition()
    {
        const int messages = 10_000;
        using var cluster = MockKafkaCluster.Start();
        cluster.CreateTopic("metrics", Partitions);

        // Explicit partitions rather than keys: a keyless producer sticks to one partition per batch,
        // so coverage of all 16 would be left to chance.
        using (var producer = new ProducerBuilder<Null, int>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            LingerMs = 5,
        }).SetValueSerializer(Serializers.Int32).Build())
        {
            for (var i = 0; i < messages; i++)
            {
                producer.Produce(new TopicPartition("metrics", new Partition(i % Partitions)), new Message<Null, int> { Value = i });
            }

            producer.Flush(TimeSpan.FromSeconds(10)).ShouldBe(0, "messages still queued after flush");
        }

        var seen = new HashSet<int>();
        var perPartition = new int[Partitions];
        var deadline = DateTime.UtcNow.AddSeconds(12);
        using (var consumer = new ConsumerBuilder<Ignore, int>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "sla-readers",
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).SetValueDeserializer(Deserializers.Int32).Build())
        {
            consumer.Subscribe("metrics");
            while (seen.Count < messages && DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result is null)
                {
                    continue;
                }

                seen.Add(result.Message.Value).ShouldBeTrue($"message {result.Message.Value} was delivered twice");
                perPartition[result.Partition.Value]++;
            }

            consumer.Close();
        }

        seen.Count.ShouldBe(messages);
        perPartition.ShouldAllBe(count => count == messages / Partitions);
    }

    [Fact]
    public void a_topic_auto_created_by_a_producer_cannot_be_recreated_with_other_partitions()
    {
        using var cluster = MockKafkaCluster.Start();
        using (var producer = new ProducerBuilder<Null, string>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers }).Build())
        {
            producer.Produce("metrics", new Message<Null, string> { Value = "early" });
            producer.Flush(TimeSpan.FromSeconds(5)).ShouldBe(0);
        }

        Should.Throw<InvalidOperationException>(() => cluster.CreateTopic("metrics", Partitions))
            .Message.ShouldContain("already exists on the mock cluster with 4 partition(s), not 16");
        cluster.CreateTopic("metrics", 4);
    }

    [Fact]
    public void two_clusters_in_one_process_listen_on_different_ports()
    {
        using var first = MockKafkaCluster.Start();
        using var second = MockKafkaCluster.Start(brokers: 3);

        second.BootstrapServers.Split(',').ShouldNotContain(first.BootstrapServers);
        second.BootstrapServers.Split(',').Distinct().Count().ShouldBe(3);

        first.CreateTopic("only-on-first", 2);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = second.BootstrapServers }).Build();
        admin.GetMetadata(MetadataTimeout).Topics.ShouldNotContain(t => t.Topic == "only-on-first");
    }
}
