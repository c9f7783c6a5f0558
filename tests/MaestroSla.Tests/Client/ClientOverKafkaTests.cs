using System.Text.Json;
using Confluent.Kafka;
using MaestroSla.Client;
using MaestroSla.Contracts.Events;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Operations;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Client;

/// <summary>
/// An app using MaestroSla.Client over Kafka (an idempotent producer against the Kafka-protocol broker) with a real
/// MaestroSla consuming the topic: the SLA report over the API holds exactly the requests the client put on the topic.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class ClientOverKafkaTests(ServicesFixture services)
{
    private const string Service = "shop-client-kafka";

    [Fact]
    public async Task the_report_of_an_app_using_the_client_over_kafka_is_exact()
    {
        var from = Minute(DateTimeOffset.UtcNow).AddMinutes(-15);
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        var settings = HealthEndpointTests.ConsumerSettings(harness);
        // Every batch stores its minutes: the test need not wait for the current minute to end.
        settings["Kafka:HoldOpenMinutes"] = "false";
        await using var maestro = await RunningApp.StartAsync(harness.ConnectionString, settings);
        await using var shop = await ShopApp.StartAsync(o =>
        {
            o.Service = Service;
            o.Transport = MaestroSlaTransport.Kafka;
            o.Kafka.BootstrapServers = services.Kafka.BootstrapServers;
            o.Kafka.Topic = harness.Topic;
        });

        var reporter = shop.App.Services.GetRequiredService<MaestroSlaReporter>();
        var downStart = from.AddMinutes(4).AddSeconds(41);
        reporter.ReportDowntime(downStart, downStart.AddSeconds(75), "deployment").ShouldBeTrue();
        var plan = ShopApp.Plan();
        DowntimeScope scope;
        using (scope = reporter.BeginDowntime("maintenance mode"))
        {
            await shop.SendAsync(plan);
        }
        // Stopping flushes the producer.
        await shop.App.StopAsync();

        // What the client put on the topic: every message once, keyed by its service.
        var (recorded, others) = ReadTopic(harness);
        ShopApp.ShouldHaveRecorded(plan, recorded);
        var health = others.Where(m => m.GetProperty("type").GetString() == "health").ToList();
        health.ShouldNotBeEmpty();
        others.Count(m => m.GetProperty("type").GetString() == "downtime").ShouldBe(2);
        shop.Metrics.Recorded.ShouldBe(plan.Count + health.Count + 2, shop.Metrics.ToString());
        shop.Metrics.Sent.ShouldBe(shop.Metrics.Recorded, shop.Metrics.ToString());
        shop.Metrics.DroppedInAll.ShouldBe(0, shop.Metrics.ToString());

        (await harness.WaitForStoredRequestsAsync(plan.Count, TimeSpan.FromSeconds(60))).ShouldBe(plan.Count);
        var to = Minute(DateTimeOffset.UtcNow).AddMinutes(2);
        await Eventually.HoldsAsync(async () =>
        {
            await using var session = harness.Store.QuerySession();
            return await session.Events.QueryRawEventDataOnly<DowntimeRecorded>().CountAsync() == 2
                && await session.Events.QueryRawEventDataOnly<HealthChecked>().CountAsync() == health.Count;
        }, "both downtimes and every health check stored", TimeSpan.FromSeconds(60));
        var report = await ExactReport.GetAsync(maestro, Service, from, to);
        ExactReport.ShouldMatch(report, recorded.Select(r => (r.Micros, r.IsError)).ToList(), Service);
        report.Requests.Total.ShouldBe(plan.Count);
        report.Requests.Errors.ShouldBe(plan.Count(p => p.IsError));
        foreach (var endpoint in plan.Select(p => p.Endpoint).Distinct())
        {
            var ofEndpoint = await ExactReport.GetAsync(maestro, Service, from, to, endpoint);
            ExactReport.ShouldMatch(ofEndpoint, recorded.Where(r => r.Endpoint == endpoint).Select(r => (r.Micros, r.IsError)).ToList(), endpoint);
        }

        await using (var session = harness.Store.QuerySession())
        {
            var downtimes = (await session.Events.QueryRawEventDataOnly<DowntimeRecorded>().ToListAsync()).OrderBy(d => d.Start).ToList();
            downtimes[0].ShouldBe(new DowntimeRecorded(Service, downStart, downStart.AddSeconds(75), "deployment"));
            downtimes[1].Start.ShouldBe(scope.Start);
            downtimes[1].End.ShouldBeGreaterThan(scope.Start);
            downtimes[1].Reason.ShouldBe("maintenance mode");
        }
        report.DowntimeEventCount.ShouldBe(2);
    }

    private static (List<ShopApp.WireRequest> Requests, List<JsonElement> Others) ReadTopic(IngestHarness harness)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = harness.Services.Kafka.BootstrapServers,
            GroupId = $"reader-{Guid.NewGuid():N}",
            EnablePartitionEof = true,
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(Enumerable.Range(0, harness.Partitions).Select(p => new TopicPartitionOffset(harness.Topic, p, Offset.Beginning)));
        var requests = new List<ShopApp.WireRequest>();
        var others = new List<JsonElement>();
        var ended = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ended.Count < harness.Partitions)
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the topic read to its end");
            var result = consumer.Consume(TimeSpan.FromSeconds(1));
            if (result is null)
            {
                continue;
            }
            if (result.IsPartitionEOF)
            {
                ended.Add(result.Partition.Value);
                continue;
            }
            result.Message.Key.ShouldBe(Service);
            ShopApp.ReadWire(result.Message.Value, requests, others);
        }
        return (requests, others);
    }

    private static DateTimeOffset Minute(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
}
