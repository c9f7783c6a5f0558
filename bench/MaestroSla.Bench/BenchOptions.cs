using System.Globalization;

namespace MaestroSla.Bench;

/// <summary>How the traffic's timestamps advance from the first message to the last.</summary>
internal enum TimestampOrder
{
    /// <summary>Like a live stream: time advances with the message number, with up to 30 s of disorder.</summary>
    Ordered,

    /// <summary>Every message anywhere in the span: the worst case for per-minute aggregation.</summary>
    Scattered,
}

/// <summary>Command-line options: <c>--name value</c> pairs, all optional.</summary>
internal sealed record BenchOptions
{
    public long Messages { get; init; } = 10_000_000;
    public long NaiveMessages { get; init; } = 500_000;
    public int NaiveBatch { get; init; } = 500;
    public long StageMessages { get; init; } = 1_000_000;
    public long DrainMessages { get; init; } = 3_000_000;
    public int DrainPartitions { get; init; } = 128;
    public int Partitions { get; init; } = 64;
    public long MonthRequests { get; init; } = 100_000_000;
    public int MonthServices { get; init; } = 20;
    public int ReportQueries { get; init; } = 1_000;
    public int RollupShards { get; init; } = MaestroSla.Projections.Latency.LatencyRollupShards.DefaultCount;
    public IReadOnlyList<int> CompareRollupShards { get; init; } = [];
    public int FlushIntervalMs { get; init; } = 500;
    public int MaxBatchMessages { get; init; } = 100_000;
    public double LeadMiBPerPartition { get; init; } = 3;
    public int Services { get; init; } = 20;
    public int EndpointsPerService { get; init; } = 5;
    public double ErrorRate { get; init; } = 0.02;
    public double SpanHours { get; init; } = 3;
    public TimestampOrder Timestamps { get; init; } = TimestampOrder.Ordered;
    public int Seed { get; init; } = 20261127;
    public int LingerMs { get; init; } = 20;
    public IReadOnlyDictionary<string, string> ConsumerConfig { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> ProducerConfig { get; init; } = new Dictionary<string, string>();
    public int TimeoutMinutes { get; init; } = 30;

    /// <summary>Which parts run: ingest (the classic phases 1–5), live, instances, http.</summary>
    public IReadOnlySet<string> Phases { get; init; } = new HashSet<string>(AllPhases);
    public IReadOnlyList<int> LiveSeries { get; init; } = [10, 1_000, 10_000, 50_000];
    public IReadOnlyList<double> LiveRates { get; init; } = [50_000, 100_000, 200_000, 300_000];
    public double LiveStepSeconds { get; init; } = 120;
    public double LiveMaxLagSeconds { get; init; } = 10;
    public int LiveReportQueries { get; init; } = 200;
    public IReadOnlyList<int> LiveProjectionNodes { get; init; } = [1, 2];
    public int LiveCustomers { get; init; }
    public IReadOnlyList<int> InstanceCounts { get; init; } = [2, 3];
    public double InstancesRate { get; init; } = 10_000;
    public int InstancesSeries { get; init; } = 10_000;
    public double InstancesSeconds { get; init; } = 90;
    public IReadOnlyList<int> HttpSeries { get; init; } = [100, 10_000];
    public IReadOnlyList<int> HttpBatches { get; init; } = [100, 1_000];
    public IReadOnlyList<int> HttpConnections { get; init; } = [1, 16, 64];
    public double HttpSeconds { get; init; } = 20;
    public long HttpKafkaMessages { get; init; } = 1_000_000;
    public long OtlpSpans { get; init; } = 20_000_000;
    public int OtlpSpansPerExport { get; init; } = 200;
    public int OtlpSeries { get; init; } = 1_000;
    public int OtlpPartitions { get; init; } = 16;

    public static readonly string[] AllPhases = ["ingest", "live", "instances", "http", "otlp"];
    public bool KeepData { get; init; }

    /// <summary>Backup, validate and restore the month again sealed (AES-256-GCM) and signed, to price both.</summary>
    public bool BackupCrypto { get; init; } = true;

    /// <summary>Set only in the load-generator child process.</summary>
    public bool LoadGeneratorRole { get; init; }

    /// <summary>librdkafka settings every consumer of the run gets (KafkaIngestOptions.Client and the others alike).</summary>
    public Dictionary<string, string> ConsumerClientSettings() => new(ConsumerConfig);

    public const string Usage = """
        MaestroSla.Bench — end-to-end ingest benchmark (durable PostgreSQL, Kafka-protocol mock broker).

          --messages N              request metrics through TelemetryConsumer (default 10000000)
          --naive-messages N        prefix of the same traffic through the naive consumer (default 500000; 0 skips)
          --naive-batch N           naive: messages per SaveChanges + Kafka commit (default 500)
          --stage-messages N        single-threaded cost breakdown: decode, aggregate, encode, write, consume (default 1000000; 0 skips)
          --drain-messages N        backlog one TelemetryConsumer drains with the producer idle (default 3000000; 0 skips)
          --drain-partitions N      partitions of the drain topic (default 128; the backlog must fit 4 MiB each)
          --partitions N            topic partitions (default 64)
          --month-requests N        requests in the month of data behind the report, backup and restore figures (default 100000000; 0 skips)
          --month-services N        services in that month (default 20; --endpoints applies)
          --no-backup-crypto        skip the second backup/validate/restore of the month, sealed and signed (its cost vs plaintext)
          --report-queries N        SLA reports timed on it, after 500 not timed (default 1000)
          --rollup-shards N         Projections:RollupShards of the month's store, its restore and the live services (default 2)
          --compare-rollup-shards 1,4,8   first rebuild the month's projections once with each shard count (timed; 0 skips)
          --flush-interval-ms N     KafkaIngestOptions.FlushInterval (default 500)
          --max-batch N             KafkaIngestOptions.MaxBatchMessages (default 100000)
          --lead-mib X              producer's lead over the stored offsets, MiB per partition (default 3; the mock drops past 5)
          --services N              services (default 20)
          --endpoints N             endpoints per service (default 5)
          --error-rate X            share of 5xx requests (default 0.02)
          --span-hours X            timestamps cover this many hours before now (default 3)
          --timestamps ordered|scattered   live-like order (default) or uniformly scattered over the span
          --seed N                  traffic seed (default 20261127)
          --linger-ms N             producer linger.ms (default 20)
          --consumer-config k=v     librdkafka setting for every consumer of the run (repeatable)
          --producer-config k=v     librdkafka setting for the load generator's producer (repeatable; default batch.size=131072)
          --timeout-minutes N       give up on a phase after this long (default 30)
          --keep-data               keep the PostgreSQL data directory (printed) instead of deleting it

          --phases LIST             which parts run, of ingest,live,instances,http,otlp (default all; ingest = phases 1-5 above)
        live steady load (src/Api as a child process: TelemetryConsumer, durable PostgreSQL, async daemon):
          --live-series LIST        cardinalities, services × 100 endpoints (default 10,1000,10000,50000)
          --live-rates LIST         requests/s stepped up per cardinality until one is not sustained (default 50000,100000,200000,300000)
          --live-seconds X          duration of each step (default 120; at least 75: a minute is stored 70 s after it starts)
          --live-max-lag X          projection and consumer lag a sustained step stays within, seconds (default 10)
          --live-reports N          SLA reports over the current day timed in each step (default 200)
          --live-projection-nodes LIST   1 and/or 2 service processes running projections (default 1,2; each node takes a share of the rollup shards)
          --live-customers N        customers per service, spread over the requests (default 0: requests name no customer)
        ingest instances in one consumer group (one SIGKILLed mid-run):
          --instances LIST          process counts (default 2,3)
          --instances-rate X        requests/s (default 10000; the mock keeps ~5 MiB per partition, which a takeover re-reads)
          --instances-series N      series (default 10000)
          --instances-seconds X     paced load per count (default 90; the kill comes at a third)
        HTTP ingest (wrk against POST /api/ingest of src/Api):
          --http-series LIST        (default 100,10000)
          --http-batches LIST       messages per request (default 100,1000)
          --http-connections LIST   (default 1,16,64)
          --http-seconds X          per wrk run (default 20)
          --http-kafka-messages N   Kafka path at the same shape, for the ratio (default 1000000)
        OTLP from Kafka (exports in protobuf as the Collector's Kafka exporter writes them → OtlpTraceConsumer → durable PostgreSQL):
          --otlp-spans N            spans produced, all kinds (default 20000000; 4 in 5 are SERVER spans)
          --otlp-spans-per-export N spans per Kafka message (default 200)
          --otlp-series N           services × 100 routes (default 1000)
          --otlp-partitions N       partitions of the OTLP topic (default 16)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            options = name switch
            {
                "--messages" => options with { Messages = Long(Value(), name, min: 1) },
                "--naive-messages" => options with { NaiveMessages = Long(Value(), name, min: 0) },
                "--naive-batch" => options with { NaiveBatch = (int)Long(Value(), name, min: 1) },
                "--stage-messages" => options with { StageMessages = Long(Value(), name, min: 0) },
                "--drain-messages" => options with { DrainMessages = Long(Value(), name, min: 0) },
                "--drain-partitions" => options with { DrainPartitions = (int)Long(Value(), name, min: 1) },
                "--partitions" => options with { Partitions = (int)Long(Value(), name, min: 1) },
                "--month-requests" => options with { MonthRequests = Long(Value(), name, min: 0) },
                "--month-services" => options with { MonthServices = (int)Long(Value(), name, min: 1) },
                "--report-queries" => options with { ReportQueries = (int)Long(Value(), name, min: 1) },
                "--rollup-shards" => options with { RollupShards = (int)Long(Value(), name, min: 1) },
                "--compare-rollup-shards" => options with
                {
                    CompareRollupShards = Value().Split(',').Select(k => (int)Long(k, name, min: 0)).Where(k => k > 0).ToArray(),
                },
                "--flush-interval-ms" => options with { FlushIntervalMs = (int)Long(Value(), name, min: 1) },
                "--max-batch" => options with { MaxBatchMessages = (int)Long(Value(), name, min: 1) },
                "--lead-mib" => options with { LeadMiBPerPartition = Double(Value(), name) },
                "--services" => options with { Services = (int)Long(Value(), name, min: 1) },
                "--endpoints" => options with { EndpointsPerService = (int)Long(Value(), name, min: 1) },
                "--error-rate" => options with { ErrorRate = Double(Value(), name) },
                "--span-hours" => options with { SpanHours = Double(Value(), name) },
                "--timestamps" => options with { Timestamps = Enum.Parse<TimestampOrder>(Value(), ignoreCase: true) },
                "--seed" => options with { Seed = (int)Long(Value(), name, min: 0) },
                "--linger-ms" => options with { LingerMs = (int)Long(Value(), name, min: 0) },
                "--consumer-config" => options with { ConsumerConfig = With(options.ConsumerConfig, Value(), name) },
                "--producer-config" => options with { ProducerConfig = With(options.ProducerConfig, Value(), name) },
                "--timeout-minutes" => options with { TimeoutMinutes = (int)Long(Value(), name, min: 1) },
                "--keep-data" => options with { KeepData = true },
                "--no-backup-crypto" => options with { BackupCrypto = false },
                "--role-load-generator" => options with { LoadGeneratorRole = true },
                "--phases" => options with { Phases = PhaseSet(Value()) },
                "--live-series" => options with { LiveSeries = Ints(Value(), name) },
                "--live-rates" => options with { LiveRates = Ints(Value(), name).Select(r => (double)r).ToArray() },
                "--live-seconds" => options with { LiveStepSeconds = Double(Value(), name) },
                "--live-max-lag" => options with { LiveMaxLagSeconds = Double(Value(), name) },
                "--live-reports" => options with { LiveReportQueries = (int)Long(Value(), name, min: 1) },
                "--live-projection-nodes" => options with { LiveProjectionNodes = Ints(Value(), name) },
                "--live-customers" => options with { LiveCustomers = (int)Long(Value(), name, min: 0) },
                "--instances" => options with { InstanceCounts = Ints(Value(), name) },
                "--instances-rate" => options with { InstancesRate = Double(Value(), name) },
                "--instances-series" => options with { InstancesSeries = (int)Long(Value(), name, min: 1) },
                "--instances-seconds" => options with { InstancesSeconds = Double(Value(), name) },
                "--http-series" => options with { HttpSeries = Ints(Value(), name) },
                "--http-batches" => options with { HttpBatches = Ints(Value(), name) },
                "--http-connections" => options with { HttpConnections = Ints(Value(), name) },
                "--http-seconds" => options with { HttpSeconds = Double(Value(), name) },
                "--http-kafka-messages" => options with { HttpKafkaMessages = Long(Value(), name, min: 1) },
                "--otlp-spans" => options with { OtlpSpans = Long(Value(), name, min: 1) },
                "--otlp-spans-per-export" => options with { OtlpSpansPerExport = (int)Long(Value(), name, min: 1) },
                "--otlp-series" => options with { OtlpSeries = (int)Long(Value(), name, min: 1) },
                "--otlp-partitions" => options with { OtlpPartitions = (int)Long(Value(), name, min: 1) },
                _ => throw new ArgumentException($"unknown option {name}"),
            };
        }
        if (options.SpanHours is <= 0 or > 24 * 30)
        {
            throw new ArgumentException("--span-hours must be in (0, 720]: the decoder rejects timestamps older than 62 days");
        }
        if (options.ErrorRate is < 0 or > 1)
        {
            throw new ArgumentException("--error-rate must be in [0, 1]");
        }
        return options;
    }

    private static HashSet<string> PhaseSet(string list)
    {
        var phases = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = phases.Except(AllPhases).ToArray();
        return unknown.Length == 0 ? phases : throw new ArgumentException($"--phases: unknown {string.Join(", ", unknown)} (known: {string.Join(", ", AllPhases)})");
    }

    private static int[] Ints(string list, string name) =>
        [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(v => (int)Long(v, name, min: 1))];

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> settings, string pair, string name)
    {
        var equals = pair.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            throw new ArgumentException($"{name} takes key=value");
        }
        return new Dictionary<string, string>(settings) { [pair[..equals]] = pair[(equals + 1)..] };
    }

    private static long Long(string text, string name, long min)
    {
        var value = long.Parse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture);
        return value >= min ? value : throw new ArgumentException($"{name} must be at least {min}");
    }

    private static double Double(string text, string name)
    {
        var value = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return value > 0 || name == "--error-rate" ? value : throw new ArgumentException($"{name} must be positive");
    }
}
