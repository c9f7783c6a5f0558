using System.Collections.Concurrent;
using System.Text.Json;
using MaestroSla.Client;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Security;
using Marten;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Client;

/// <summary>
/// An app using MaestroSla.Client over HTTP against a real MaestroSla: the SLA report over the API holds exactly the
/// requests the client recorded, and a batch whose answer is lost after MaestroSla stored it, retried by the client
/// under the same Idempotency-Key, counts once.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class ClientOverHttpTests(ServicesFixture services)
{
    private const string Service = "shop-client-http";

    [Fact]
    public async Task the_report_of_an_app_using_the_client_over_http_is_exact_and_a_batch_retried_after_a_lost_answer_counts_once()
    {
        var from = Minute(DateTimeOffset.UtcNow).AddMinutes(-15);
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var maestro = await SecuredApp.StartAsync(harness.ConnectionString);
        var wire = new Wire();
        await using var shop = await ShopApp.StartAsync(o =>
        {
            o.Service = Service;
            o.Transport = MaestroSlaTransport.Http;
            o.Http.Endpoint = maestro.Address;
            o.Http.ApiKey = SecuredApp.IngestKey;
            // Small batches, so that the requests travel in several and the lost answer is one batch's.
            o.Http.MaxBatchMessages = 40;
            o.FlushInterval = TimeSpan.FromMilliseconds(200);
            o.Http.RetryDelay = TimeSpan.FromMilliseconds(200);
            // The first batch also compiles MaestroSla's ingest endpoint (Wolverine generates it on first use).
            o.Http.AttemptTimeout = TimeSpan.FromSeconds(120);
        }, s => s.AddHttpClient(MaestroSlaOptions.HttpClientName).AddHttpMessageHandler(() => new WireTap(wire)));

        var reporter = shop.App.Services.GetRequiredService<MaestroSlaReporter>();
        var downStart = from.AddMinutes(5).AddSeconds(17);
        reporter.ReportDowntime(downStart, downStart.AddSeconds(90), "failover").ShouldBeTrue();
        var plan = ShopApp.Plan();
        await shop.SendAsync(plan);
        // Stopping sends what is buffered.
        await shop.App.StopAsync();

        // What went over the wire: each batch once as MaestroSla stored it (the retried one under its first key).
        wire.LostAnswers.ShouldBe(1, "one answer was dropped on its way back");
        wire.Replayed.ShouldBe(1, "the retry was answered with the first answer");
        wire.Attempts.Values.Count(n => n == 2).ShouldBe(1, "exactly one batch was sent twice, under one key");
        var recorded = new List<ShopApp.WireRequest>();
        var others = new List<JsonElement>();
        foreach (var body in wire.Stored.Values)
        {
            ShopApp.ReadWire(body, recorded, others);
        }
        recorded.ShouldAllBe(r => r.Service == Service);
        ShopApp.ShouldHaveRecorded(plan, recorded);
        var health = others.Where(m => m.GetProperty("type").GetString() == "health").ToList();
        health.ShouldNotBeEmpty();
        health.ShouldAllBe(m => m.GetProperty("component").GetString() == ShopApp.HealthComponent && m.GetProperty("status").GetString() == "healthy");
        others.Count(m => m.GetProperty("type").GetString() == "downtime").ShouldBe(1);

        // The client's account: everything recorded was sent, nothing dropped.
        shop.Metrics.Recorded.ShouldBe(plan.Count + health.Count + 1, shop.Metrics.ToString());
        shop.Metrics.Sent.ShouldBe(shop.Metrics.Recorded, shop.Metrics.ToString());
        shop.Metrics.DroppedInAll.ShouldBe(0, shop.Metrics.ToString());

        // What MaestroSla stored and reports.
        (await harness.WaitForStoredRequestsAsync(plan.Count, TimeSpan.FromSeconds(60))).ShouldBe(plan.Count);
        var to = Minute(DateTimeOffset.UtcNow).AddMinutes(2);
        var report = await ExactReport.GetAsync(maestro, Service, from, to);
        ExactReport.ShouldMatch(report, recorded.Select(r => (r.Micros, r.IsError)).ToList(), Service);
        report.Requests.Total.ShouldBe(plan.Count);
        report.Requests.Errors.ShouldBe(plan.Count(p => p.IsError));
        foreach (var endpoint in plan.Select(p => p.Endpoint).Distinct())
        {
            var ofEndpoint = await ExactReport.GetAsync(maestro, Service, from, to, endpoint);
            ExactReport.ShouldMatch(ofEndpoint, recorded.Where(r => r.Endpoint == endpoint).Select(r => (r.Micros, r.IsError)).ToList(), endpoint);
        }
        report.DowntimeEventCount.ShouldBe(1);
        report.Uptime.Downtime.ShouldBe(TimeSpan.FromSeconds(90));

        await using var session = harness.Store.QuerySession();
        var checks = await session.Events.QueryRawEventDataOnly<HealthChecked>().ToListAsync();
        checks.Count.ShouldBe(health.Count);
        checks.ShouldAllBe(c => c.Service == Service && c.Component == ShopApp.HealthComponent && c.Status == HealthState.Healthy);
    }

    private static DateTimeOffset Minute(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    /// <summary>What the client's HttpClient sent and MaestroSla answered, seen inside the client's retry handler.</summary>
    private sealed class Wire
    {
        public ConcurrentDictionary<string, byte[]> Stored { get; } = new();
        public ConcurrentDictionary<string, int> Attempts { get; } = new();
        private int _lostAnswers;
        private int _replayed;

        public int LostAnswers => _lostAnswers;
        public int Replayed => _replayed;

        public bool LoseFirstAnswer() => Interlocked.CompareExchange(ref _lostAnswers, 1, 0) == 0;

        public void Replay() => Interlocked.Increment(ref _replayed);
    }

    /// <summary>
    /// Below the client's retry handler, as a flaky network would be: the first answered batch that carries requests
    /// loses its answer after MaestroSla stored it, so the client sees an error and retries it.
    /// </summary>
    private sealed class WireTap(Wire wire) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            var key = request.Headers.GetValues("Idempotency-Key").Single();
            wire.Attempts.AddOrUpdate(key, 1, (_, n) => n + 1);
            var response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return response;
            }
            wire.Stored.GetOrAdd(key, body).ShouldBe(body, "a retry sends the same body under the same key");
            if (response.Headers.Contains("Idempotent-Replayed"))
            {
                wire.Replay();
            }
            else if (body.AsSpan().IndexOf("\"type\":\"request\""u8) >= 0 && wire.LoseFirstAnswer())
            {
                response.Dispose();
                throw new HttpRequestException("The connection broke after MaestroSla had answered (a test's flaky network)");
            }
            return response;
        }
    }
}
