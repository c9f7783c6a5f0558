using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Bench.Traffic;
using MaestroSla.Local.Kafka;

namespace MaestroSla.Bench.Kafka;

/// <summary>
/// The child process that plays "Kafka and the applications": it hosts the mock cluster and produces the
/// synthetic traffic, so that the benchmark process holds only the consumer under test and its CPU and memory can
/// be read apart. Talks to its parent in lines: commands on stdin, replies on stdout (see <see cref="LoadGeneratorProcess"/>).
/// </summary>
internal static class LoadGenerator
{
    private static long _stored;

    // Live traffic and its producer outlive one pace command: steps of a run follow each other without a gap.
    private static LiveTraffic? _live;
    private static IProducer<byte[], byte[]>? _pacer;

    public static int Run(BenchOptions options)
    {
        using var cluster = MockKafkaCluster.Start();
        var commands = new BlockingCollection<string[]>();
        var reader = new Thread(() => ReadCommands(commands)) { IsBackground = true, Name = "loadgen-stdin" };
        reader.Start();
        Reply($"ready {cluster.BootstrapServers}");

        var partitionsOf = new Dictionary<string, int>();
        foreach (var command in commands.GetConsumingEnumerable())
        {
            switch (command[0])
            {
                case "topic":
                    var partitions = command.Length > 2 ? int.Parse(command[2], CultureInfo.InvariantCulture) : options.Partitions;
                    cluster.CreateTopic(command[1], partitions);
                    partitionsOf[command[1]] = partitions;
                    Reply($"topic {command[1]}");
                    break;
                case "produce":
                    Produce(options, cluster.BootstrapServers, partitionsOf[command[1]], command);
                    break;
                case "otlp":
                    Volatile.Write(ref _stored, 0);
                    Reply(OtlpLoad.Produce(options, cluster.BootstrapServers, partitionsOf[command[1]], command, static () => Volatile.Read(ref _stored)));
                    break;
                case "pace":
                    Pace(options, cluster.BootstrapServers, command);
                    break;
                default:
                    throw new InvalidOperationException($"unknown command '{string.Join(' ', command)}'");
            }
        }
        return 0;
    }

    private static void ReadCommands(BlockingCollection<string[]> commands)
    {
        // Progress lines ("s N": the slowest partition's stored offset) come every few milliseconds: they bypass
        // the queue, since a produce command is running.
        while (Console.In.ReadLine() is { } line)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["s", var stored])
            {
                Volatile.Write(ref _stored, long.Parse(stored, CultureInfo.InvariantCulture));
            }
            else if (parts.Length > 0)
            {
                commands.Add(parts);
            }
        }
        // The parent went away (or is done): so are we.
        commands.CompleteAdding();
    }

    /// <summary>produce TOPIC FROM COUNT TRAFFIC_COUNT END_UNIX_MS LEAD_BYTES_PER_PARTITION [SERVICES ENDPOINTS SPAN_HOURS]</summary>
    private static void Produce(BenchOptions options, string bootstrapServers, int partitionCount, string[] command)
    {
        var topic = command[1];
        var from = long.Parse(command[2], CultureInfo.InvariantCulture);
        var count = long.Parse(command[3], CultureInfo.InvariantCulture);
        var trafficCount = long.Parse(command[4], CultureInfo.InvariantCulture);
        var end = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(command[5], CultureInfo.InvariantCulture));
        var leadBytesPerPartition = double.Parse(command[6], CultureInfo.InvariantCulture);
        Volatile.Write(ref _stored, 0);

        // Optionally another shape than the run's: services, endpoints per service, span in hours.
        var shape = command.Length > 9
            ? Shape(options with
            {
                Services = int.Parse(command[7], CultureInfo.InvariantCulture),
                EndpointsPerService = int.Parse(command[8], CultureInfo.InvariantCulture),
                SpanHours = double.Parse(command[9], CultureInfo.InvariantCulture),
            })
            : Shape(options);
        var traffic = new SyntheticTraffic(shape, end, trafficCount);
        // The mock broker keeps the newest ~5 MiB of each partition, read or not: no partition may run further ahead
        // of its stored offset than that, so the lead is measured against the slowest partition. Record overhead
        // in a v2 batch is ~10-20 bytes; 20 keeps the estimate on the safe side.
        var maxLeadPerPartition = (long)Math.Min(long.MaxValue / 2, leadBytesPerPartition / (traffic.AverageBytes + 20));

        long errors = 0;
        var waited = new Stopwatch();
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "maestrosla-bench-producer",
            LingerMs = options.LingerMs,
            BatchNumMessages = 10_000,
            // The mock broker answers a fetch with one producer batch per partition, and a fetch holds at most
            // fetch.max.bytes (50 MB): with librdkafka's 1 MB batches, 64 partitions' batches overflow it and the
            // partitions at the end of the request starve. 128 KB batches fit, with linger long enough to fill them.
            BatchSize = 131_072,
            QueueBufferingMaxMessages = 1_000_000,
            // No per-message delivery reports (each costs an allocation and a callback on a shared core): the
            // benchmark checks instead that every partition's stored offset reaches the count produced to it.
            EnableDeliveryReports = false,
        };
        foreach (var (key, value) in options.ProducerConfig)
        {
            config.Set(key, value);
        }
        using var producer = new ProducerBuilder<Null, byte[]>(config).Build();

        var partitions = new TopicPartition[partitionCount];
        for (var p = 0; p < partitions.Length; p++)
        {
            partitions[p] = new TopicPartition(topic, p);
        }
        // One message object for the whole run: Produce copies key and value into librdkafka before returning.
        var message = new Message<Null, byte[]> { Value = [] };

        var elapsed = Stopwatch.StartNew();
        for (var i = 0L; i < count; i++)
        {
            // Round robin: after i messages every partition holds at most i / partitions + 1 of them.
            if ((i & 255) == 0 && (i / partitionCount) + 1 - Volatile.Read(ref _stored) > maxLeadPerPartition)
            {
                waited.Start();
                while ((i / partitionCount) + 1 - Volatile.Read(ref _stored) > maxLeadPerPartition)
                {
                    Thread.Sleep(1);
                }
                waited.Stop();
            }

            var index = from + i;
            message.Value = traffic.Message(index, out var isError);
            if (isError)
            {
                errors++;
            }
            producer.ProduceWaitingForRoom(partitions[index % partitions.Length], message);
        }
        var remaining = producer.Flush(TimeSpan.FromMinutes(2));
        Reply(string.Create(CultureInfo.InvariantCulture,
            $"produced {topic} {count} {errors} {remaining} {traffic.AverageBytes:0.0} {elapsed.ElapsedMilliseconds} {waited.ElapsedMilliseconds} {maxLeadPerPartition}"));
    }

    /// <summary>
    /// pace TOPIC FROM RATE SECONDS SERIES: live traffic (<see cref="LiveTraffic"/>) messages FROM, FROM + 1, … at RATE
    /// per second for SECONDS, stamped with the time they are made, keyed by service (librdkafka's partitioner puts a
    /// series in one partition). Replies how many it produced, how many were errors, and how far behind the pace it fell.
    /// </summary>
    private static void Pace(BenchOptions options, string bootstrapServers, string[] command)
    {
        var topic = command[1];
        var from = long.Parse(command[2], CultureInfo.InvariantCulture);
        var rate = double.Parse(command[3], CultureInfo.InvariantCulture);
        var seconds = double.Parse(command[4], CultureInfo.InvariantCulture);
        var series = int.Parse(command[5], CultureInfo.InvariantCulture);
        if (_live?.Series != series)
        {
            // This process parsed the run's options too: --live-customers applies here.
            _live = new LiveTraffic(series, options.ErrorRate, options.Seed, options.LiveCustomers);
        }
        var traffic = _live;
        _pacer ??= new ProducerBuilder<byte[], byte[]>(LiveProducerConfig(options, bootstrapServers)).Build();
        var producer = _pacer;
        var message = new Message<byte[], byte[]> { Key = [], Value = [] };
        var target = new TopicPartition(topic, Partition.Any);

        long produced = 0, errors = 0, maxBehind = 0;
        var startedAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        var total = (long)(rate * seconds);
        while (produced < total)
        {
            var elapsed = clock.Elapsed.TotalSeconds;
            var due = Math.Min(total, (long)(rate * elapsed));
            maxBehind = Math.Max(maxBehind, due - produced);
            if (produced >= due)
            {
                Thread.Sleep(1);
                continue;
            }
            var now = startedAt + clock.ElapsedMilliseconds;
            // At most 1 ms worth per pass, so that timestamps stay within a millisecond of the send.
            var upTo = Math.Min(due, produced + Math.Max(1, (long)(rate / 1000) + 1));
            for (; produced < upTo; produced++)
            {
                var index = from + produced;
                message.Key = traffic.Key(index);
                message.Value = traffic.Message(index, now, out var isError);
                if (isError)
                {
                    errors++;
                }
                producer.ProduceWaitingForRoom(target, message);
            }
        }
        var elapsedMs = clock.ElapsedMilliseconds;
        var remaining = producer.Flush(TimeSpan.FromMinutes(1));
        Reply(string.Create(CultureInfo.InvariantCulture,
            $"paced {topic} {produced} {errors} {startedAt} {elapsedMs} {remaining} {(long)(maxBehind * 1000 / rate)} {traffic.AverageBytes:0.0}"));
    }

    private static ProducerConfig LiveProducerConfig(BenchOptions options, string bootstrapServers)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "maestrosla-bench-pacer",
            LingerMs = 5,
            BatchNumMessages = 10_000,
            BatchSize = 131_072,
            QueueBufferingMaxMessages = 1_000_000,
            EnableDeliveryReports = false,
        };
        foreach (var (key, value) in options.ProducerConfig)
        {
            config.Set(key, value);
        }
        return config;
    }

    public static LoadShape Shape(BenchOptions options) => new(
        options.Services, options.EndpointsPerService, options.ErrorRate, TimeSpan.FromHours(options.SpanHours), options.Timestamps, options.Seed);

    private static void Reply(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}
