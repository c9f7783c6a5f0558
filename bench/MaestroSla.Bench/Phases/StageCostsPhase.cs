using System.Diagnostics;
using Confluent.Kafka;
using MaestroSla.Api.Store;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;
using MaestroSla.Bench.Traffic;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Storage;
using Marten;

namespace MaestroSla.Bench.Phases;

/// <summary>Single-threaded cost of each step of TelemetryConsumer's loop, per message (µs) and per flush (ms).</summary>
internal sealed record StageCosts(
    long Messages,
    int BatchMessages,
    double DecodeMicros,
    double AggregateMicros,
    double EncodeMillisPerBatch,
    double WriteMillisPerBatch,
    double EventsPerBatch,
    long ConsumedMessages,
    double ConsumeMicros,
    double ConsumeBenchCores,
    double ConsumeLoadGeneratorCores)
{
    public int Batches => (int)Math.Ceiling((double)Messages / BatchMessages);

    /// <summary>Per message, everything the consumer loop does one after the other (it awaits each flush).</summary>
    public double LoopMicros =>
        ConsumeMicros + DecodeMicros + AggregateMicros + ((EncodeMillisPerBatch + WriteMillisPerBatch) * 1000 / BatchMessages);
}

/// <summary>
/// Times the consumer loop's steps apart, on the same traffic, one thread, no other load: decode
/// (<see cref="TelemetryDecoder"/>), aggregate (<see cref="IngestBatch.Add"/>), encode (ToEventsByService: HDR
/// histograms → events), write (<see cref="IngestBatchWriter"/>: one durable transaction), and a bare Kafka consume.
/// </summary>
internal static class StageCostsPhase
{
    private const string Topic = "stages.consume";

    public static async Task<StageCosts> RunAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, CancellationToken ct)
    {
        var count = (int)Math.Min(options.StageMessages, options.Messages);
        var traffic = new SyntheticTraffic(LoadGenerator.Shape(options), trafficEnd, options.Messages);
        var messages = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            messages[i] = traffic.Message(i, out _).ToArray();
        }

        // Decode: warm up (JIT, name cache), then the best of three passes, since the two cores are shared with
        // whatever PostgreSQL does in the background (autovacuum after the earlier phases).
        var decoder = new TelemetryDecoder(new ContractLimits(), TimeProvider.System);
        var decoded = new DecodedMessage[count];
        for (var i = 0; i < Math.Min(count, 50_000); i++)
        {
            decoded[i] = decoder.Decode(messages[i]);
        }
        var clock = new Stopwatch();
        var decodeBest = TimeSpan.MaxValue;
        for (var pass = 0; pass < 3; pass++)
        {
            clock.Restart();
            for (var i = 0; i < count; i++)
            {
                decoded[i] = decoder.Decode(messages[i]);
            }
            decodeBest = clock.Elapsed < decodeBest ? clock.Elapsed : decodeBest;
        }
        var decodeMicros = decodeBest.TotalMicroseconds / count;

        // Aggregate alone, best of three, without writing.
        var aggregateBest = TimeSpan.MaxValue;
        var scratch = new IngestBatch();
        for (var pass = 0; pass < 3; pass++)
        {
            var elapsed = TimeSpan.Zero;
            for (var start = 0; start < count; start += options.MaxBatchMessages)
            {
                var end = Math.Min(count, start + options.MaxBatchMessages);
                clock.Restart();
                for (var i = start; i < end; i++)
                {
                    scratch.Add(decoded[i]);
                }
                elapsed += clock.Elapsed;
                scratch.Clear();
            }
            aggregateBest = elapsed < aggregateBest ? elapsed : aggregateBest;
        }

        var connectionString = await environment.CreateDatabaseAsync("stages_bench");
        await using var store = new DocumentStore(MaestroStore.Configure(new StoreOptions(), connectionString));
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var writer = new IngestBatchWriter(store);
        var batch = new IngestBatch();
        var encode = TimeSpan.Zero;
        var write = TimeSpan.Zero;
        long events = 0;
        var batches = 0;
        for (var start = 0; start < count; start += options.MaxBatchMessages)
        {
            var end = Math.Min(count, start + options.MaxBatchMessages);
            for (var i = start; i < end; i++)
            {
                batch.Add(decoded[i]);
            }

            clock.Restart();
            var byService = batch.ToEventsByService();
            encode += clock.Elapsed;
            foreach (var list in byService.Values)
            {
                events += list.Count;
            }

            // WriteAsync encodes again (it calls ToEventsByService itself): take that back out.
            clock.Restart();
            await writer.WriteAsync(batch, ct);
            write += clock.Elapsed;
            batch.Clear();
            batches++;
        }
        write -= encode;

        var (consumed, consumeMicros, benchCores, generatorCores) = await BareConsumeAsync(options, environment, trafficEnd, count, ct);

        return new StageCosts(count, options.MaxBatchMessages, decodeMicros, aggregateBest.TotalMicroseconds / count,
            encode.TotalMilliseconds / batches, write.TotalMilliseconds / batches, (double)events / batches,
            consumed, consumeMicros, benchCores, generatorCores);
    }

    /// <summary>
    /// A consumer configured like TelemetryConsumer's that only reads: what the Kafka client and the mock broker cost
    /// per message. The topic is filled first (within the mock's 5 MiB per partition), then read whole.
    /// </summary>
    private static async Task<(long Consumed, double Micros, double BenchCores, double GeneratorCores)> BareConsumeAsync(
        BenchOptions options, BenchEnvironment environment, DateTimeOffset trafficEnd, long count, CancellationToken ct)
    {
        await environment.LoadGenerator.CreateTopicAsync(Topic, ct);
        // 4 MiB per partition at most, so that the broker keeps all of it.
        var fits = (long)(4.0 * 1024 * 1024 * options.Partitions / 200);
        var messages = Math.Min(count, fits);
        await environment.LoadGenerator.ProduceAsync(Topic, 0, messages, options.Messages, trafficEnd, 1e12, () => 0, ct);

        // The client settings TelemetryConsumer runs with (fetch back-off, no per-message topic or headers).
        var config = new KafkaIngestOptions { Client = options.ConsumerClientSettings() }
            .ToConsumerConfig(environment.LoadGenerator.BootstrapServers, "stages-bench");
        using var consumer = new ConsumerBuilder<Ignore, byte[]?>(config).Build();
        var assignment = Enumerable.Range(0, options.Partitions)
            .Select(p => new TopicPartitionOffset(Topic, p, Offset.Beginning)).ToList();
        consumer.Assign(assignment);

        var meter = new PhaseMeter(environment.Participants);
        await meter.StartAsync();
        long consumed = 0;
        long bytes = 0;
        while (consumed < messages && meter.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(20)) is { Message: { } message })
            {
                consumed++;
                bytes += message.Value?.Length ?? 0;
            }
        }
        var cost = await meter.StopAsync();
        consumer.Close();
        return (consumed, cost.Wall.TotalMicroseconds / Math.Max(1, consumed), cost.Cores(cost.BenchCpuSeconds), cost.Cores(cost.LoadGeneratorCpuSeconds));
    }
}
