using System.Text;
using Confluent.Kafka;
using Google.Protobuf;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Trace.V1;
using Shouldly;

namespace MaestroSla.Tests.Otlp;

/// <summary>
/// OTLP trace exports on a Kafka topic, as the OpenTelemetry Collector's Kafka exporter writes them (otlp_proto):
/// many spans per message, through the real consumer, broker and PostgreSQL.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class OtlpKafkaIngestTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task server_spans_of_exports_on_kafka_are_stored_exactly_other_kinds_counted_and_what_cannot_be_read_dead_lettered()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        // Minutes that have ended: stored at once.
        var traffic = new OtlpTraffic(messages: 240, spansPerMessage: 40, from: DateTimeOffset.UtcNow.AddMinutes(-6), to: DateTimeOffset.UtcNow.AddMinutes(-2), seed: 7);

        // Someone wrote JSON to the topic, and a truncated export: neither is an export.
        var json = Encoding.UTF8.GetBytes("""{"v":1,"type":"request","service":"a","endpoint":"/x","latencyMs":5,"status":200,"ts":"2026-12-07T03:00:00Z"}""");
        var truncated = traffic.Messages[0][..^3];
        // A readable export with one SERVER span refused (it ends before it starts) next to a good one.
        var ended = DateTimeOffset.UtcNow.AddMinutes(-3);
        var backwards = OtlpSpansBuilder.Server("GET", "/backwards", 200, ended, 5_000_000);
        (backwards.StartTimeUnixNano, backwards.EndTimeUnixNano) = (backwards.EndTimeUnixNano, backwards.StartTimeUnixNano);
        var partlyBad = OtlpSpansBuilder.Export("billing", [OtlpSpansBuilder.Server("GET", "/invoices", 200, ended, 9_000_000), backwards]);
        traffic.Expect("billing", "GET /invoices", 9_000, isError: false);

        var messages = new List<byte[]>(traffic.Messages);
        messages.Insert(37, json);
        messages.Insert(101, truncated);
        messages.Insert(150, partlyBad.ToByteArray());
        harness.Produce(messages);
        var (consumer, progress) = await harness.StartOtlpConsumerAsync();

        (await harness.WaitForStoredRequestsAsync(traffic.ServerSpans, Patience)).ShouldBe(traffic.ServerSpans);
        await Eventually.HoldsAsync(() => progress.StoredMessages == messages.Count, "every message's read position stored", Patience);
        await traffic.AssertStoredExactlyAsync(harness);
        consumer.StoredSpans.ShouldBe(traffic.ServerSpans);
        consumer.IgnoredSpans.ShouldBe(traffic.OtherSpans);
        consumer.RefusedSpans.ShouldBe(1);

        await using var session = harness.Store.QuerySession();
        var deadLetters = (await session.Query<DeadLetter>().ToListAsync()).OrderBy(d => d.Offset).ThenBy(d => d.Partition).ToList();
        deadLetters.Count.ShouldBe(3);
        deadLetters.ShouldAllBe(d => d.Topic == harness.Topic && d.Source == "kafka");
        var unreadable = deadLetters.Where(d => d.Reason.StartsWith("not an OTLP trace export", StringComparison.Ordinal)).ToList();
        unreadable.Select(d => Convert.ToHexString(d.Payload)).ShouldBe(new[] { Convert.ToHexString(json), Convert.ToHexString(truncated) }, ignoreOrder: true);
        var refused = deadLetters.Except(unreadable).ShouldHaveSingleItem();
        refused.Reason.ShouldContain("1 of 2 SERVER spans were refused");
        refused.Reason.ShouldContain("span ends before it starts");
        // The dead letter holds the refused span alone, with its service: the good one was stored and is not in it.
        var kept = ExportTraceServiceRequest.Parser.ParseFrom(refused.Payload);
        kept.ResourceSpans.ShouldHaveSingleItem().Resource.Attributes.ShouldContain(a => a.Key == "service.name" && a.Value.StringValue == "billing");
        kept.ResourceSpans[0].ScopeSpans.ShouldHaveSingleItem().Spans.ShouldHaveSingleItem().ShouldBe(backwards);

        // Every partition's stored read position is past its last message: nothing is read again on the next start.
        await using var connection = new Npgsql.NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        var offsets = await StoredKafkaOffsets.LoadAsync(connection, harness.Store.Options.DatabaseSchemaName,
            OtlpTraceConsumer.GroupOf(harness.GroupId), harness.Topic, CancellationToken.None);
        for (var partition = 0; partition < harness.Partitions; partition++)
        {
            var produced = (messages.Count / harness.Partitions) + (partition < messages.Count % harness.Partitions ? 1 : 0);
            offsets[partition].Resume.ShouldBe(produced, $"partition {partition}");
        }
    }

    [Fact]
    public async Task a_crash_and_rebalances_while_minutes_are_held_count_no_span_twice()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 8);
        // Up to now: the current minute is held in memory (and read again after the crash) until it ends.
        var traffic = new OtlpTraffic(messages: 600, spansPerMessage: 30, from: DateTimeOffset.UtcNow.AddMinutes(-2), to: DateTimeOffset.UtcNow, seed: 11);
        var thirds = traffic.Messages.Chunk(200).ToArray();
        harness.Produce(thirds[0]);

        var (first, _) = await harness.StartOtlpConsumerAsync();
        await Eventually.HoldsAsync(() => first.StoredSpans > 0, "the first member stored a batch", Patience);
        harness.Produce(thirds[1]);
        first.SimulateCrash();
        first.StoredSpans.ShouldBeLessThan(traffic.ServerSpans, "the crash must come mid-stream for this test to mean anything");

        // Two members share the partitions, then one leaves and the other takes them all over.
        var (second, _) = await harness.StartOtlpConsumerAsync();
        var (third, thirdProgress) = await harness.StartOtlpConsumerAsync();
        await Eventually.HoldsAsync(() => thirdProgress.AssignedPartitions.Count > 0, "the third member got partitions", Patience);
        harness.Produce(thirds[2]);
        await second.StopAsync(CancellationToken.None);

        // The current minute is stored once it has ended (plus the 2 s grace): up to a minute from now.
        (await harness.WaitForStoredRequestsAsync(traffic.ServerSpans, Patience + TimeSpan.FromSeconds(70))).ShouldBe(traffic.ServerSpans);
        await traffic.AssertStoredExactlyAsync(harness);
        (second.StoredSpans + third.StoredSpans).ShouldBeGreaterThan(0);
    }

    [Fact]
    public async Task the_service_reads_the_collectors_default_topic_on_its_embedded_kafka_unless_the_topic_is_empty()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using (var app = await RunningApp.StartAsync(connectionString, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "",
            ["Kafka:ConsumerEnabled"] = "true",
            ["Kafka:EmbeddedPartitions"] = "2",
        }))
        {
            var consumer = app.App.Services.GetServices<IHostedService>().OfType<OtlpTraceConsumer>().ShouldHaveSingleItem();
            var bootstrap = app.App.Services.GetRequiredService<KafkaBootstrap>();
            var ended = DateTimeOffset.UtcNow.AddMinutes(-2);
            var export = OtlpSpansBuilder.Export("collector-fed", [
                OtlpSpansBuilder.Server("GET", "/a", 200, ended, 3_000_000),
                OtlpSpansBuilder.Server("GET", "/a", 502, ended, 4_000_000),
                OtlpSpansBuilder.Client(ended),
            ]);
            using (var producer = new ProducerBuilder<Null, byte[]>(new ProducerConfig { BootstrapServers = bootstrap.BootstrapServers }).Build())
            {
                // The Collector's Kafka exporter's default topic, which the embedded cluster created.
                await producer.ProduceAsync("otlp_spans", new Message<Null, byte[]> { Value = export.ToByteArray() });
            }

            await Eventually.HoldsAsync(() => consumer.StoredSpans == 2, "the export's SERVER spans stored", Patience);
            consumer.IgnoredSpans.ShouldBe(1);
            await using var session = app.App.Services.GetRequiredService<IDocumentStore>().QuerySession();
            var minute = (await session.Events.QueryRawEventDataOnly<RequestsRecorded>().ToListAsync())
                .Where(e => e.Service == "collector-fed").SelectMany(e => e.Minutes).ShouldHaveSingleItem();
            (minute.Requests, minute.Errors).ShouldBe((2L, 1L));
        }

        await using var off = await RunningApp.StartAsync(await services.CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = services.Kafka.BootstrapServers,
            ["Kafka:Topic"] = services.CreateTopic(1),
            ["Kafka:GroupId"] = $"group-{Guid.NewGuid():N}",
            ["Kafka:ConsumerEnabled"] = "true",
            ["Kafka:OtlpTopic"] = "",
        });
        off.App.Services.GetServices<IHostedService>().OfType<OtlpTraceConsumer>().ShouldBeEmpty();
        off.App.Services.GetServices<IHostedService>().OfType<TelemetryConsumer>().ShouldHaveSingleItem();
    }

    /// <summary>
    /// Exports of SERVER spans (several services and routes, 2xx–5xx, some with status ERROR) mixed with CLIENT and
    /// INTERNAL spans, each span's latency in whole microseconds, with every expected figure kept.
    /// </summary>
    private sealed class OtlpTraffic
    {
        private static readonly string[] Services = ["checkout", "search", "catalog"];
        private static readonly (string Method, string Route)[] Routes = [("GET", "/items/{id}"), ("POST", "/orders"), ("GET", "/health"), ("PUT", "/carts/{id}")];
        private readonly Dictionary<(string Service, string Endpoint), List<long>> _latencies = [];
        private readonly Dictionary<string, long> _errors = [];

        public OtlpTraffic(int messages, int spansPerMessage, DateTimeOffset from, DateTimeOffset to, int seed)
        {
            var random = new Random(seed);
            var spanTicks = (to - from).Ticks;
            for (var m = 0; m < messages; m++)
            {
                var service = Services[m % Services.Length];
                var spans = new List<Span>(spansPerMessage);
                for (var i = 0; i < spansPerMessage; i++)
                {
                    var end = from + TimeSpan.FromTicks((long)(random.NextDouble() * spanTicks));
                    var (method, route) = Routes[random.Next(Routes.Length)];
                    var kind = random.Next(10);
                    if (kind >= 8)
                    {
                        // Not what an SLA measures: counted and passed over.
                        var other = OtlpSpansBuilder.Client(end);
                        other.Kind = kind == 8 ? Span.Types.SpanKind.Client : Span.Types.SpanKind.Internal;
                        spans.Add(other);
                        OtherSpans++;
                        continue;
                    }
                    var micros = 200 + (long)(random.NextDouble() * random.NextDouble() * 2_000_000);
                    var status = random.Next(100) switch { < 3 => 503, < 5 => 500, < 10 => 404, _ => 200 };
                    var statusError = random.Next(100) < 2;
                    spans.Add(OtlpSpansBuilder.Server(method, route, status, end, micros * 1_000, statusError));
                    Expect(service, $"{method} {route}", micros, status >= 500 || statusError);
                }
                Messages.Add(OtlpSpansBuilder.Export(service, spans).ToByteArray());
            }
        }

        public List<byte[]> Messages { get; } = [];

        public long ServerSpans { get; private set; }

        public long OtherSpans { get; private set; }

        public void Expect(string service, string endpoint, long micros, bool isError)
        {
            if (!_latencies.TryGetValue((service, endpoint), out var latencies))
            {
                _latencies[(service, endpoint)] = latencies = [];
            }
            latencies.Add(micros);
            _errors[service] = _errors.GetValueOrDefault(service) + (isError ? 1 : 0);
            ServerSpans++;
        }

        /// <summary>
        /// Requests and errors per service exactly, and per endpoint the count and the latency distribution (within
        /// the histogram's 3 significant digits of the exact sorted values); again after a pause, so a late duplicate shows.
        /// </summary>
        public async Task AssertStoredExactlyAsync(IngestHarness harness)
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var events = await harness.StoredRequestEventsAsync();
            var stored = events.GroupBy(e => (e.Service, e.Endpoint)).ToDictionary(g => g.Key, g => g.SelectMany(e => e.Minutes).ToList());
            stored.Keys.ShouldBe(_latencies.Keys, ignoreOrder: true);
            foreach (var (series, latencies) in _latencies)
            {
                var minutes = stored[series];
                minutes.Sum(m => m.Requests).ShouldBe(latencies.Count, $"requests of {series}");
                var histogram = new LatencyHistogram();
                foreach (var minute in minutes)
                {
                    histogram.AddEncoded(minute.Latency);
                }
                histogram.TotalCount.ShouldBe(latencies.Count, $"latencies recorded for {series}");
                // The stored distribution is the one of the spans sent, count for count: the same as recording them here.
                var expected = new LatencyHistogram();
                foreach (var micros in latencies)
                {
                    expected.Record(micros);
                }
                foreach (var percentile in (double[])[1, 10, 25, 50, 75, 90, 99, 99.9, 100])
                {
                    histogram.GetValueAtPercentile(percentile).ShouldBe(expected.GetValueAtPercentile(percentile), $"p{percentile} of {series}");
                }
                // And that is the exact median within the histogram's 0.1 % (whichever neighbouring rank a percentile names).
                var sorted = latencies.Order().ToArray();
                var rank = (int)Math.Ceiling(sorted.Length / 2.0) - 1;
                ((double)histogram.GetValueAtPercentile(50)).ShouldBeInRange(
                    (sorted[Math.Max(0, rank - 1)] * 0.999) - 1, (sorted[Math.Min(sorted.Length - 1, rank + 1)] * 1.001) + 1, $"median of {series}");
            }
            var errors = events.GroupBy(e => e.Service).ToDictionary(g => g.Key, g => g.Sum(e => e.Minutes.Sum(m => m.Errors)));
            errors.OrderBy(e => e.Key).ShouldBe(_errors.OrderBy(e => e.Key));
        }
    }
}
