using System.Net;
using System.Net.Sockets;
using MaestroSla.Local.Postgres;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Operations;

[Collection(SharedServices.Name)]
public sealed class HealthEndpointTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task while_postgresql_is_stopped_the_process_stays_live_but_unready_and_is_ready_again_once_it_returns()
    {
        // A server of its own: stopping the shared one would break every other test.
        var dataDirectory = Directory.CreateTempSubdirectory("maestrosla-ops-pg-");
        try
        {
            await using var postgres = await EmbeddedPostgres.StartAsync(dataDirectory.FullName, new EmbeddedPostgresOptions { Durable = false });
            await using var app = await RunningApp.StartAsync(postgres.ConnectionString);
            (await HealthReply.WaitAsync(app.Client, "/ready", r => r.Code == HttpStatusCode.OK, Patience)).Code.ShouldBe(HttpStatusCode.OK);

            await postgres.StopAsync();

            var live = await HealthReply.GetAsync(app.Client, "/healthz");
            live.Code.ShouldBe(HttpStatusCode.OK, live.Body);
            live.Components.Keys.ShouldBe(["self"], "liveness must never depend on a dependency");
            var unready = await HealthReply.WaitAsync(app.Client, "/ready", r => r.Code == HttpStatusCode.ServiceUnavailable, Patience);
            unready.Code.ShouldBe(HttpStatusCode.ServiceUnavailable, unready.Body);
            unready.Status.ShouldBe("Unhealthy");
            unready.Components["postgresql"].Status.ShouldBe("Unhealthy", unready.Body);
            unready.Components["event-store-schema"].Status.ShouldBe("Unhealthy", unready.Body);
            (await HealthReply.GetAsync(app.Client, "/healthz")).Code.ShouldBe(HttpStatusCode.OK);

            await postgres.StartAgainAsync();

            var ready = await HealthReply.WaitAsync(app.Client, "/ready", r => r.Code == HttpStatusCode.OK, Patience);
            ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
            ready.Components["postgresql"].Status.ShouldBe("Healthy");
        }
        finally
        {
            dataDirectory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task health_lists_every_component_with_its_status_description_and_latency()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 2);
        await using var app = await RunningApp.StartAsync(harness.ConnectionString, ConsumerSettings(harness));

        var ready = await HealthReply.WaitAsync(app.Client, "/ready", r => r.Code == HttpStatusCode.OK, Patience);
        ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
        ready.Components.Keys.Order(StringComparer.Ordinal).ToList().ShouldBe(["event-store-schema", "postgresql"], "readiness is about serving");

        // Healthy once the consumer owns its partitions and the first samples are in.
        var health = await HealthReply.WaitAsync(app.Client, "/health", r => r.Status == "Healthy", Patience);
        health.Code.ShouldBe(HttpStatusCode.OK, health.Body);
        health.Status.ShouldBe("Healthy", health.Body);
        health.Components.Keys.Order(StringComparer.Ordinal).ShouldBe(
            ["backup-target", "cardinality", "event-store-schema", "ingest", "kafka", "kafka-consumer-assignment", "kafka-consumer-lag", "postgresql", "projection-high-water", "projections", "self"]);
        foreach (var (name, component) in health.Components)
        {
            component.Status.ShouldBe("Healthy", $"{name}: {component.Description}");
            component.Description.ShouldNotBeNullOrWhiteSpace(name);
            component.LatencyMs.ShouldBeGreaterThanOrEqualTo(0, name);
        }
        health.Components["postgresql"].Description!.ShouldStartWith("PostgreSQL 1");
        health.Components["backup-target"].Description!.ShouldContain("backup set(s)");
        health.Components["kafka-consumer-assignment"].Description!.ShouldContain("2 partition(s)");
        health.Components["kafka-consumer-lag"].Description!.ShouldContain("0 message(s) behind");
        health.Components["ingest"].Description!.ShouldBe("nothing stored yet, nothing waiting");
        health.Components["projections"].Description!.ShouldContain("latency_rollups_0 0 behind");
        health.Components["cardinality"].Description!.ShouldBe("every service within 2000 endpoints and 1000 customers");
        health.Body.ShouldContain("\"sampleLatencyMs\"");
    }

    [Fact]
    public async Task a_replica_serving_reports_stays_ready_while_kafka_is_unreachable_and_health_says_why()
    {
        var database = await services.CreateDatabaseAsync();
        await using var app = await RunningApp.StartAsync(database, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = $"127.0.0.1:{ClosedLoopbackPort()}",
            ["Kafka:ConsumerEnabled"] = "true",
            ["Operations:SampleInterval"] = "00:00:01",
        });

        var health = await HealthReply.WaitAsync(
            app.Client, "/health", r => r.Components["kafka"].Description?.Contains("unreachable", StringComparison.Ordinal) == true, Patience);
        health.Components["kafka"].Status.ShouldBe("Unhealthy", health.Body);
        health.Components["kafka-consumer-lag"].Status.ShouldBe("Unhealthy", health.Body);
        health.Code.ShouldBe(HttpStatusCode.ServiceUnavailable, health.Body);

        var ready = await HealthReply.GetAsync(app.Client, "/ready");
        ready.Code.ShouldBe(HttpStatusCode.OK, ready.Body);
        ready.Components.Keys.ShouldNotContain("kafka");
        (await HealthReply.GetAsync(app.Client, "/healthz")).Code.ShouldBe(HttpStatusCode.OK);
        // And it serves: a report answers while Kafka is away.
        (await app.Client.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task a_replica_that_does_ingest_alone_is_unready_while_kafka_is_unreachable_while_liveness_holds()
    {
        var database = await services.CreateDatabaseAsync();
        await using var app = await RunningApp.StartAsync(database, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = $"127.0.0.1:{ClosedLoopbackPort()}",
            ["Kafka:ConsumerEnabled"] = "true",
            ["Operations:ReadinessIncludesIngest"] = "true",
            ["Operations:SampleInterval"] = "00:00:01",
        });

        var unready = await HealthReply.WaitAsync(
            app.Client, "/ready", r => r.Components.TryGetValue("kafka", out var kafka) && kafka.Description?.Contains("unreachable", StringComparison.Ordinal) == true, Patience);
        unready.Code.ShouldBe(HttpStatusCode.ServiceUnavailable, unready.Body);
        unready.Components.Keys.Order(StringComparer.Ordinal).ShouldBe(
            ["event-store-schema", "kafka", "kafka-consumer-assignment", "kafka-consumer-lag", "postgresql"]);
        unready.Components["kafka"].Status.ShouldBe("Unhealthy", unready.Body);
        unready.Components["postgresql"].Status.ShouldBe("Healthy", "only Kafka is away");
        (await HealthReply.GetAsync(app.Client, "/healthz")).Code.ShouldBe(HttpStatusCode.OK);
    }

    internal static Dictionary<string, string?> ConsumerSettings(IngestHarness harness)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Kafka:ConsumerEnabled"] = "true",
            ["Kafka:BootstrapServers"] = harness.Services.Kafka.BootstrapServers,
            ["Kafka:Topic"] = harness.Topic,
            ["Kafka:GroupId"] = harness.GroupId,
            ["Kafka:FlushInterval"] = "00:00:00.100",
            ["Operations:SampleInterval"] = "00:00:01",
        };
        foreach (var (key, value) in harness.ClientSettings)
        {
            settings[$"Kafka:Client:{key}"] = value;
        }
        return settings;
    }

    /// <summary>A loopback port nothing listens on (bound, then released: racy only in theory).</summary>
    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
