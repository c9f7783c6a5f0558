using System.Diagnostics;
using Confluent.Kafka;
using MaestroSla.Ingest;

namespace MaestroSla.Local.Kafka;

/// <summary>
/// An in-process Kafka-protocol cluster (librdkafka's mock brokers on loopback TCP), used when no
/// Kafka is configured: the demo and the tests. Other processes can connect to it too.
/// </summary>
/// <remarks>
/// <para>
/// The cluster lives exactly as long as the native librdkafka client that hosts it, so it stops on
/// <see cref="Dispose"/> (or, if that is forgotten, when the handle is finalized).
/// </para>
/// <para>
/// Several clusters can run in one process: each is hosted by its own client, and every mock broker
/// listens on its own ephemeral port (librdkafka binds 127.0.0.1:0), so addresses never collide and
/// topics are not shared. MockKafkaClusterTests pins this.
/// </para>
/// <para>
/// Limits of the mock that callers must plan for: it keeps only about 5 MiB per partition and
/// silently drops older records; the admin CreateTopics API times out, which is why topics are made
/// with <see cref="CreateTopic"/>; topics that are auto-created by a metadata request or a produce get
/// 4 partitions.
/// </para>
/// <para>
/// <see cref="CreateTopic"/> may be called from several threads; <see cref="Dispose"/> must not race
/// with it.
/// </para>
/// </remarks>
public sealed class MockKafkaCluster : IEmbeddedKafka
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MetadataRequestTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(20);

    private readonly MockClusterClientHandle _host;
    private readonly IAdminClient _admin;
    private readonly int _brokers;
    private bool _disposed;

    private MockKafkaCluster(MockClusterClientHandle host, IAdminClient admin, int brokers, string bootstrapServers)
    {
        _host = host;
        _admin = admin;
        _brokers = brokers;
        BootstrapServers = bootstrapServers;
    }

    /// <summary>"127.0.0.1:PORT[,127.0.0.1:PORT...]", one entry per broker.</summary>
    public string BootstrapServers { get; }

    /// <summary>Starts a mock cluster in this process and returns once every broker answers metadata requests.</summary>
    public static MockKafkaCluster Start(int brokers = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokers, 1);

        var host = LibrdkafkaMock.StartCluster(brokers);
        IAdminClient? admin = null;
        try
        {
            var bootstrapServers = LibrdkafkaMock.Bootstraps(host);
            admin = new AdminClientBuilder(new AdminClientConfig
            {
                BootstrapServers = bootstrapServers,
                ClientId = "maestrosla-mock-cluster-admin",
            }).Build();

            var cluster = new MockKafkaCluster(host, admin, brokers, bootstrapServers);
            cluster.WaitForBrokers();
            return cluster;
        }
        catch
        {
            admin?.Dispose();
            host.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="topic"/> with exactly <paramref name="partitions"/> partitions and returns once
    /// metadata reports all of them with a leader, so consumers can subscribe right away.
    /// </summary>
    /// <exception cref="InvalidOperationException">The topic already exists with another partition count.</exception>
    /// <exception cref="TimeoutException">The topic did not show up in metadata in time.</exception>
    public void CreateTopic(string topic, int partitions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Replication as the mock does for auto-created topics: a single broker cannot hold more copies.
        var error = LibrdkafkaMock.CreateTopic(_host, topic, partitions, Math.Min(3, _brokers));
        if (error == ErrorCode.TopicAlreadyExists)
        {
            // Calling twice with the same shape is harmless; a different shape usually means something
            // produced to (or asked metadata for) the topic first, which auto-creates it with 4 partitions.
            var existing = PartitionCount(topic);
            if (existing != partitions)
            {
                throw new InvalidOperationException(
                    $"Topic '{topic}' already exists on the mock cluster with {existing} partition(s), not {partitions}. " +
                    "Producing to a topic or requesting its metadata auto-creates it with 4 partitions: create it before that.");
            }
        }
        else if (error != ErrorCode.NoError)
        {
            throw new KafkaException(new Error(error, $"The mock cluster could not create topic '{topic}' with {partitions} partition(s)."));
        }

        WaitUntilVisible(topic, partitions);
    }

    /// <summary>Stops the cluster; clients still connected to it see their brokers go down.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _admin.Dispose();
        _host.Dispose();
    }

    private void WaitForBrokers()
    {
        var elapsed = Stopwatch.StartNew();
        var lastSeen = "no metadata response";
        while (elapsed.Elapsed < ReadyTimeout)
        {
            try
            {
                var seen = _admin.GetMetadata(MetadataRequestTimeout).Brokers.Count;
                if (seen == _brokers)
                {
                    return;
                }

                lastSeen = $"{seen} broker(s)";
            }
            catch (KafkaException e)
            {
                lastSeen = e.Error.ToString();
            }

            Thread.Sleep(RetryDelay);
        }

        throw new TimeoutException(
            $"The mock cluster at {BootstrapServers} did not report {_brokers} broker(s) within {ReadyTimeout.TotalSeconds:0} s (last: {lastSeen}).");
    }

    // The mock creates topics synchronously, but a client's view comes from metadata responses:
    // wait until one shows the topic whole, since subscribing to a topic absent from metadata fails
    // with "Unknown topic or partition".
    private void WaitUntilVisible(string topic, int partitions)
    {
        var elapsed = Stopwatch.StartNew();
        var lastSeen = "no metadata response";
        while (elapsed.Elapsed < ReadyTimeout)
        {
            try
            {
                var metadata = TopicMetadata(topic);
                if (metadata.Error.Code == ErrorCode.NoError
                    && metadata.Partitions.Count == partitions
                    && metadata.Partitions.TrueForAll(p => p.Error.Code == ErrorCode.NoError && p.Leader >= 0))
                {
                    return;
                }

                lastSeen = $"{metadata.Partitions.Count} partition(s), error '{metadata.Error}'";
            }
            catch (KafkaException e)
            {
                lastSeen = e.Error.ToString();
            }

            Thread.Sleep(RetryDelay);
        }

        throw new TimeoutException(
            $"Topic '{topic}' was created on the mock cluster at {BootstrapServers} but metadata did not report " +
            $"{partitions} partition(s) with leaders within {ReadyTimeout.TotalSeconds:0} s (last: {lastSeen}).");
    }

    private int PartitionCount(string topic) => TopicMetadata(topic).Partitions.Count;

    private TopicMetadata TopicMetadata(string topic)
    {
        var topics = _admin.GetMetadata(topic, MetadataRequestTimeout).Topics;
        return topics.Find(t => t.Topic == topic)
            ?? throw new KafkaException(new Error(ErrorCode.UnknownTopicOrPart, $"Metadata for '{topic}' did not list the topic."));
    }
}
