using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Google.Protobuf;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Local.Traffic;

namespace MaestroSla.Bench.Kafka;

/// <summary>
/// The load generator's OTLP traffic: trace exports in protobuf (otlp_proto, as the Collector's Kafka exporter writes
/// them), round robin over the partitions, each partition kept within a lead of the consumer's stored offsets.
/// </summary>
internal static class OtlpLoad
{
    // Distinct exports encoded once and sent in turn: building protobuf for every message would cost the load
    // generator (which also hosts the broker) a large share of a core the consumer needs.
    private const int Pool = 256;

    /// <summary>otlp TOPIC EXPORTS SPANS_PER_EXPORT SERIES END_UNIX_MS SPREAD_SECONDS LEAD_BYTES_PER_PARTITION; returns the reply line.</summary>
    public static string Produce(BenchOptions options, string bootstrapServers, int partitionCount, string[] command, Func<long> slowestStored)
    {
        var topic = command[1];
        var count = long.Parse(command[2], CultureInfo.InvariantCulture);
        var spansPerExport = int.Parse(command[3], CultureInfo.InvariantCulture);
        var series = int.Parse(command[4], CultureInfo.InvariantCulture);
        var end = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(command[5], CultureInfo.InvariantCulture));
        var spread = TimeSpan.FromSeconds(double.Parse(command[6], CultureInfo.InvariantCulture));
        var leadBytesPerPartition = double.Parse(command[7], CultureInfo.InvariantCulture);

        var generator = new OtlpExports(series, spansPerExport, options.ErrorRate, options.Seed);
        var payloads = new byte[Pool][];
        var server = new int[Pool];
        var errors = new int[Pool];
        var bytes = 0L;
        for (var i = 0; i < Pool; i++)
        {
            payloads[i] = generator.Next(end, spread, out server[i], out errors[i]).ToByteArray();
            bytes += payloads[i].Length;
        }
        var averageBytes = bytes / (double)Pool;
        // As for JSON traffic: the mock broker keeps the newest ~5 MiB of each partition, read or not.
        var maxLeadPerPartition = Math.Max(1, (long)(leadBytesPerPartition / (averageBytes + 20)));

        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            ClientId = "maestrosla-bench-otlp-producer",
            LingerMs = options.LingerMs,
            BatchSize = 262_144,
            QueueBufferingMaxKbytes = 262_144,
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
        var message = new Message<Null, byte[]> { Value = [] };

        long spans = 0, serverSpans = 0, errorSpans = 0;
        var waited = new Stopwatch();
        var elapsed = Stopwatch.StartNew();
        for (var i = 0L; i < count; i++)
        {
            if ((i / partitionCount) + 1 - slowestStored() > maxLeadPerPartition)
            {
                waited.Start();
                while ((i / partitionCount) + 1 - slowestStored() > maxLeadPerPartition)
                {
                    Thread.Sleep(1);
                }
                waited.Stop();
            }
            var pick = (int)(i % Pool);
            message.Value = payloads[pick];
            spans += spansPerExport;
            serverSpans += server[pick];
            errorSpans += errors[pick];
            producer.ProduceWaitingForRoom(partitions[i % partitions.Length], message);
        }
        var remaining = producer.Flush(TimeSpan.FromMinutes(2));
        return string.Create(CultureInfo.InvariantCulture,
            $"produced-otlp {topic} {count} {spans} {serverSpans} {errorSpans} {remaining} {averageBytes:0.0} {elapsed.ElapsedMilliseconds} {waited.ElapsedMilliseconds}");
    }
}
