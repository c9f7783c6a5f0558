using Confluent.Kafka;
using MaestroSla.Api.Store;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>One test's database, topic and consumer group, with real consumers started and stopped at will.</summary>
public sealed class IngestHarness : IAsyncDisposable
{
    private readonly List<BackgroundService> _consumers = [];

    private IngestHarness(ServicesFixture services, string connectionString, string topic, int partitions, DocumentStore store)
    {
        Partitions = partitions;
        Services = services;
        ConnectionString = connectionString;
        Topic = topic;
        Store = store;
    }

    /// <summary>Consumer logs go to the console when MAESTRO_TEST_LOGS is set (they are noise otherwise).</summary>
    private static readonly ILoggerFactory Logs = Environment.GetEnvironmentVariable("MAESTRO_TEST_LOGS") is null
        ? NullLoggerFactory.Instance
        : LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff "));

    public ServicesFixture Services { get; }
    public string ConnectionString { get; }
    public string Topic { get; }
    public int Partitions { get; }
    public string GroupId { get; } = $"group-{Guid.NewGuid():N}";
    public DocumentStore Store { get; }

    public static async Task<IngestHarness> CreateAsync(ServicesFixture services, int partitions)
    {
        var connectionString = await services.CreateDatabaseAsync();
        var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        return new IngestHarness(services, connectionString, services.CreateTopic(partitions), partitions, store);
    }

    /// <summary>Settings shared by in-process consumers and consumer processes started by the tests.</summary>
    public Dictionary<string, string> ClientSettings { get; } = new()
    {
        // A member that dies without leaving is noticed after this long (the broker's minimum is 6 s).
        ["session.timeout.ms"] = "6000",
        ["heartbeat.interval.ms"] = "500",
    };

    public KafkaIngestOptions ConsumerOptions() => new()
    {
        BootstrapServers = Services.Kafka.BootstrapServers,
        Topic = Topic,
        GroupId = GroupId,
        FlushInterval = TimeSpan.FromMilliseconds(100),
        MaxBatchMessages = 5_000,
        // Minutes still open are held as in production; a short grace keeps tests of the current minute quick.
        OpenMinuteGrace = TimeSpan.FromSeconds(2),
        Client = new Dictionary<string, string>(ClientSettings),
    };

    public async Task<(TelemetryConsumer Consumer, IngestProgress Progress)> StartConsumerAsync(SeriesCatalog? catalog = null)
    {
        var options = Options.Create(ConsumerOptions());
        var progress = new IngestProgress();
        var consumer = new TelemetryConsumer(
            options,
            new KafkaBootstrap(options, Logs.CreateLogger<KafkaBootstrap>()),
            new TelemetryDecoder(new ContractLimits(), TimeProvider.System),
            Store,
            new IngestBatchWriter(Store, catalog),
            progress,
            TimeProvider.System,
            Logs.CreateLogger<TelemetryConsumer>());
        _consumers.Add(consumer);
        await consumer.StartAsync(CancellationToken.None);
        return (consumer, progress);
    }

    /// <summary>An OTLP consumer built as the ingest host builds it, reading this harness's topic as Kafka:OtlpTopic.</summary>
    public async Task<(OtlpTraceConsumer Consumer, IngestProgress Progress)> StartOtlpConsumerAsync()
    {
        var settings = ConsumerOptions();
        settings.OtlpTopic = Topic;
        settings.Topic = Topic + ".json";
        var options = Options.Create(settings);
        var progress = new IngestProgress();
        var consumer = new OtlpTraceConsumer(
            options,
            new KafkaBootstrap(options, Logs.CreateLogger<KafkaBootstrap>()),
            new OtlpSpanDecoder(new ContractLimits(), TimeProvider.System),
            Store,
            new IngestBatchWriter(Store),
            progress,
            TimeProvider.System,
            Logs.CreateLogger<OtlpTraceConsumer>());
        _consumers.Add(consumer);
        await consumer.StartAsync(CancellationToken.None);
        return (consumer, progress);
    }

    public void Produce(IEnumerable<byte[]> messages, int? partition = null)
    {
        using var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig
        {
            BootstrapServers = Services.Kafka.BootstrapServers,
            LingerMs = 5,
        }).Build();
        var failed = 0;
        var sent = 0;
        foreach (var message in messages)
        {
            // Round robin: librdkafka's partitioners stick to one partition per batch, and the mock broker drops
            // the oldest data of a partition past 5 MiB, read or not.
            var target = new TopicPartition(Topic, partition ?? (sent++ % Partitions));
            producer.ProduceWaitingForRoom(target, new Message<Null, byte[]> { Value = message }, report =>
            {
                if (report.Error.IsError)
                {
                    Interlocked.Increment(ref failed);
                }
            });
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        if (failed > 0)
        {
            throw new InvalidOperationException($"{failed} messages were not delivered to the broker");
        }
    }

    public async Task<Dictionary<string, long>> StoredRequestsByServiceAsync()
    {
        await using var session = Store.QuerySession();
        var events = await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync();
        var totals = new Dictionary<string, long>();
        foreach (var recorded in events)
        {
            totals[recorded.Service] = totals.GetValueOrDefault(recorded.Service) + recorded.Minutes.Sum(m => m.Requests);
        }
        return totals;
    }

    public async Task<List<RequestsRecorded>> StoredRequestEventsAsync()
    {
        await using var session = Store.QuerySession();
        return (await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync()).ToList();
    }

    public async Task<Dictionary<string, long>> StoredErrorsByServiceAsync()
    {
        await using var session = Store.QuerySession();
        var events = await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync();
        return events.GroupBy(e => e.Service).ToDictionary(g => g.Key, g => g.Sum(e => e.Minutes.Sum(m => m.Errors)));
    }

    public async Task<long> StoredRequestsAsync() => (await StoredRequestsByServiceAsync()).Values.Sum();

    /// <summary>Waits until at least <paramref name="atLeast"/> requests are stored; returns how many are.</summary>
    public async Task<long> WaitForStoredRequestsAsync(long atLeast, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var stored = await StoredRequestsAsync();
            if (stored >= atLeast || DateTime.UtcNow > deadline)
            {
                return stored;
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var consumer in _consumers)
        {
            await consumer.StopAsync(CancellationToken.None);
            consumer.Dispose();
        }
        await Store.DisposeAsync();
    }
}
