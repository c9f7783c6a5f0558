using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MaestroSla.Api.Alerts;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Services;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using Wolverine;
using Wolverine.Tracking;

namespace MaestroSla.Tests.Alerts;

[Collection(SharedServices.Name)]
public sealed class SlaAlertTests(ServicesFixture services)
{
    private const string Endpoint = "GET /orders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task a_burst_of_errors_pages_once_notifies_the_webhook_and_resolves_when_the_errors_stop()
    {
        await using var webhook = await WebhookReceiver.StartAsync();
        await using var app = await StartAppAsync(new()
        {
            // Evaluations are driven below at fixed instants instead of by the wall-clock timer.
            ["Sla:Alerts:EvaluateEvery"] = "00:00:00",
            ["Sla:Alerts:WebhookUrl"] = webhook.Url.ToString(),
        });
        var store = app.App.Services.GetRequiredService<IDocumentStore>();

        // On the hour two days back: inside the ingest contract's accepted age, and away from the real clock.
        var t0 = LatencyRollup.StartOf(RollupGrain.Hour, DateTimeOffset.UtcNow).AddDays(-2);
        // A day of clean traffic keeps the 6 h, 1 d and 3 d windows below their rates, so only the 1 h page fires:
        // 600 errors burn 19.8× over the hour (60,600 requests) and 214× over five minutes (5,600 requests).
        await AppendCleanTrafficAsync(store, "checkout", t0.AddDays(-1), t0.AddMinutes(30), requestsPerMinute: 1_000);
        await IngestAsync(app, FailedRequests("checkout", t0.AddMinutes(-4), minutes: 5, perMinute: 120));
        // All of its requests fail, but 60 are fewer than Sla:Alerts:MinimumRequests (100).
        await IngestAsync(app, FailedRequests("tiny", t0.AddMinutes(-10), minutes: 10, perMinute: 6));
        await store.WaitForNonStaleProjectionDataAsync(Patience);

        var at = t0.AddSeconds(30);
        // Two nodes evaluating the same service at the same instant race to start its alert stream: one raise.
        await EvaluateTwiceAtOnceAsync(app, "checkout", at);
        // The regular path, every service, three more times while the burst is still inside the five-minute window.
        await EvaluateAsync(app, at);
        await EvaluateAsync(app, at.AddMinutes(1));
        await EvaluateAsync(app, at.AddMinutes(2));

        var raised = await HistoryAsync(app, "checkout");
        raised.Count.ShouldBe(1, "raised once, not once per evaluation");
        raised[0].Status.ShouldBe(AlertStatus.Raised);
        raised[0].Rule.ShouldBe("page-1h");
        raised[0].Severity.ShouldBe(AlertSeverity.Page);
        raised[0].BurnRateLong!.Value.ShouldBe(600.0 / 60_600 / 0.0005, tolerance: 1e-6);
        raised[0].BurnRateShort!.Value.ShouldBe(600.0 / 5_600 / 0.0005, tolerance: 1e-6);
        raised[0].At.ShouldBe(at);

        var active = await app.Client.GetFromJsonAsync<List<ActiveSlaAlert>>("/api/alerts", Json);
        active!.Select(a => (a.Service, a.Rule, a.Since)).ShouldBe([("checkout", "page-1h", at)]);
        (await webhook.WaitForDeliveredAsync(1, Patience)).ShouldBeTrue();
        var first = webhook.Delivered.Single();
        first.GetProperty("status").GetString().ShouldBe("Raised");
        first.GetProperty("service").GetString().ShouldBe("checkout");
        first.GetProperty("rule").GetString().ShouldBe("page-1h");
        first.GetProperty("severity").GetString().ShouldBe("Page");

        // Five clean minutes later the short window no longer burns, although the hour still does: resolved.
        var later = t0.AddMinutes(5).AddSeconds(30);
        // Racing on the existing stream's version this time: one resolution.
        await EvaluateTwiceAtOnceAsync(app, "checkout", later);
        await EvaluateAsync(app, later.AddMinutes(1));

        var history = await HistoryAsync(app, "checkout");
        history.Select(h => (h.Status, h.Rule, h.At)).ShouldBe([(AlertStatus.Resolved, "page-1h", later), (AlertStatus.Raised, "page-1h", at)]);
        (await app.Client.GetFromJsonAsync<List<ActiveSlaAlert>>("/api/alerts", Json))!.ShouldBeEmpty();
        (await webhook.WaitForDeliveredAsync(2, Patience)).ShouldBeTrue();
        var second = webhook.Delivered.Last();
        second.GetProperty("status").GetString().ShouldBe("Resolved");
        second.GetProperty("rule").GetString().ShouldBe("page-1h");
        second.GetProperty("id").GetString().ShouldNotBe(first.GetProperty("id").GetString());

        (await HistoryAsync(app, "tiny")).ShouldBeEmpty();
        (await HistoryAsync(app, null)).Count.ShouldBe(2);
        webhook.Attempts.Count.ShouldBe(2);

        // The alert streams are not services.
        await using var session = store.QuerySession();
        (await KnownServices.ListAsync(session, CancellationToken.None)).ShouldBe(["checkout", "tiny"]);
    }

    [Fact]
    public async Task the_scheduler_evaluates_every_tick_and_raises_each_firing_rule_once()
    {
        await using var app = await StartAppAsync(new() { ["Sla:Alerts:EvaluateEvery"] = "00:00:01" });
        var store = app.App.Services.GetRequiredService<IDocumentStore>();

        // 150 failed requests a minute or two ago sit in every window: all four rules fire.
        var now = DateTimeOffset.UtcNow;
        await IngestAsync(app, FailedRequests("live", now.AddMinutes(-2), minutes: 1, perMinute: 150));
        await store.WaitForNonStaleProjectionDataAsync(Patience);

        var deadline = DateTime.UtcNow + Patience;
        while ((await HistoryAsync(app, "live")).Count < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // three more ticks

        var history = await HistoryAsync(app, "live");
        history.ShouldAllBe(h => h.Status == AlertStatus.Raised);
        history.Select(h => h.Rule).Order(StringComparer.Ordinal).ShouldBe(["page-1h", "page-6h", "ticket-1d", "ticket-3d"]);
    }

    [Fact]
    public async Task a_refused_webhook_is_retried_until_it_is_delivered()
    {
        await using var webhook = await WebhookReceiver.StartAsync(failFirst: 2);
        await using var app = await StartAppAsync(new()
        {
            ["Sla:Alerts:EvaluateEvery"] = "00:00:00",
            ["Sla:Alerts:WebhookUrl"] = webhook.Url.ToString(),
            // This service's own target: 150 failures in 10,150 requests (1.5 %) burn a 99 % budget at 1.5×,
            // which opens only the 3-day ticket.
            ["Sla:Services:flaky:AvailabilityPercent"] = "99",
        });
        var store = app.App.Services.GetRequiredService<IDocumentStore>();
        var now = DateTimeOffset.UtcNow;
        await AppendCleanTrafficAsync(store, "flaky", now.AddMinutes(-20), now.AddMinutes(-10), requestsPerMinute: 1_000);
        await IngestAsync(app, FailedRequests("flaky", now.AddMinutes(-2), minutes: 1, perMinute: 150));
        await store.WaitForNonStaleProjectionDataAsync(Patience);

        await EvaluateAsync(app, now);

        (await HistoryAsync(app, "flaky")).Select(h => h.Rule).ShouldBe(["ticket-3d"]);
        (await webhook.WaitForDeliveredAsync(1, Patience)).ShouldBeTrue();
        webhook.Attempts.Count.ShouldBe(3);
        webhook.Attempts.Select(a => a.GetProperty("id").GetString()).Distinct().Count().ShouldBe(1);
        webhook.Delivered.Single().GetProperty("severity").GetString().ShouldBe("Ticket");
    }

    [Fact]
    public async Task a_notification_the_webhook_has_not_accepted_survives_a_restart()
    {
        await using var webhook = await WebhookReceiver.StartAsync();
        var unanswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        webhook.Hold = unanswered;
        var connectionString = await services.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Sla:Alerts:EvaluateEvery"] = "00:00:00",
            ["Sla:Alerts:WebhookUrl"] = webhook.Url.ToString(),
        };
        var now = DateTimeOffset.UtcNow;
        try
        {
            await using (var first = await RunningApp.StartAsync(connectionString, settings))
            {
                var store = first.App.Services.GetRequiredService<IDocumentStore>();
                // Four rules fire: four notifications, each stuck in a POST the receiver does not answer.
                await IngestAsync(first, FailedRequests("held", now.AddMinutes(-2), minutes: 1, perMinute: 150));
                await store.WaitForNonStaleProjectionDataAsync(Patience);
                await using (var scope = first.App.Services.CreateAsyncScope())
                {
                    await scope.ServiceProvider.GetRequiredService<IMessageBus>().InvokeAsync(new EvaluateServiceSlaAlerts("held", now));
                }
                (await webhook.WaitForAttemptsAsync(4, Patience)).ShouldBeTrue();
                (await StoredNotificationsAsync(store)).ShouldBe(4);
            }

            // The next process (here: a restart) finds them in the durable inbox and delivers them.
            webhook.Hold = new TaskCompletionSource();
            webhook.Hold.SetResult();
            await using var second = await RunningApp.StartAsync(connectionString, settings);
            (await webhook.WaitForDeliveredAsync(4, Patience)).ShouldBeTrue();
            webhook.Delivered.Select(d => d.GetProperty("rule").GetString()).Order(StringComparer.Ordinal)
                .ShouldBe(["page-1h", "page-6h", "ticket-1d", "ticket-3d"]);
        }
        finally
        {
            unanswered.SetResult();
        }
    }

    [Fact]
    public async Task evaluation_waits_while_the_latency_rollups_trail_the_events()
    {
        // No daemon runs on this store: whatever is appended stays unprocessed.
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var session = harness.Store.LightweightSession();
        (await ProjectionLag.OfLatencyRollupsAsync(session, CancellationToken.None)).ShouldBe(TimeSpan.Zero);

        session.Events.Append("svc", CleanMinutes("svc", DateTimeOffset.UtcNow.AddMinutes(-1), 1, 100));
        await session.SaveChangesAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        (await ProjectionLag.OfLatencyRollupsAsync(session, CancellationToken.None)).ShouldBeGreaterThan(TimeSpan.FromSeconds(1));
        var command = new EvaluateSlaAlerts(DateTimeOffset.UtcNow);
        var skipped = await EvaluateSlaAlertsHandler.Handle(
            command, session, Options.Create(new SlaAlertOptions { MaxProjectionLag = TimeSpan.FromSeconds(1) }), NullLogger<EvaluateSlaAlerts>.Instance, CancellationToken.None);
        skipped.ShouldBeEmpty();
        var evaluated = await EvaluateSlaAlertsHandler.Handle(
            command, session, Options.Create(new SlaAlertOptions { MaxProjectionLag = TimeSpan.FromMinutes(5) }), NullLogger<EvaluateSlaAlerts>.Instance, CancellationToken.None);
        evaluated.ShouldBe([new EvaluateServiceSlaAlerts("svc", command.At)]);
    }

    private static async Task<long> StoredNotificationsAsync(IDocumentStore store)
    {
        await using var session = store.QuerySession();
        var counts = await session.AdvancedSql.QueryAsync<long>(
            $"select count(*) from {store.Options.DatabaseSchemaName}.wolverine_incoming_envelopes where message_type = ?",
            CancellationToken.None,
            typeof(SlaAlertNotification).FullName!);
        return counts[0];
    }

    private async Task<RunningApp> StartAppAsync(Dictionary<string, string?> settings) =>
        await RunningApp.StartAsync(await services.CreateDatabaseAsync(), settings);

    private static async Task EvaluateAsync(RunningApp app, DateTimeOffset at) =>
        await app.App.TrackActivity(Patience).DoNotAssertOnExceptionsDetected().InvokeMessageAndWaitAsync(new EvaluateSlaAlerts(at));

    /// <summary>As two nodes' schedulers would: two buses at once, each with its own session.</summary>
    private static async Task EvaluateTwiceAtOnceAsync(RunningApp app, string service, DateTimeOffset at)
    {
        using var start = new Barrier(2);
        // The loser's append fails and its retry (inline, so not seen by the tracking) finds the winner's alerts.
        await app.App.TrackActivity(Patience).DoNotAssertOnExceptionsDetected().ExecuteAndWaitAsync((IMessageContext _) =>
            Task.WhenAll(Task.Run(EvaluateAsync), Task.Run(EvaluateAsync)));

        async Task EvaluateAsync()
        {
            await using var scope = app.App.Services.CreateAsyncScope();
            var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
            start.SignalAndWait();
            await bus.InvokeAsync(new EvaluateServiceSlaAlerts(service, at));
        }
    }

    private static async Task<List<AlertHistoryEntry>> HistoryAsync(RunningApp app, string? service) =>
        (await app.Client.GetFromJsonAsync<List<AlertHistoryEntry>>(
            service is null ? "/api/alerts/history" : $"/api/alerts/history?service={Uri.EscapeDataString(service)}", Json))!;

    /// <summary>Error-free minutes of one endpoint over [from, to), stored as ingest would store them.</summary>
    private static async Task AppendCleanTrafficAsync(IDocumentStore store, string service, DateTimeOffset from, DateTimeOffset to, int requestsPerMinute)
    {
        await using var session = store.LightweightSession();
        var minutes = (int)(to - from).TotalMinutes;
        // Ingest's own limit of minutes per event.
        for (var offset = 0; offset < minutes; offset += 240)
        {
            session.Events.Append(service, CleanMinutes(service, from.AddMinutes(offset), Math.Min(240, minutes - offset), requestsPerMinute));
        }
        await session.SaveChangesAsync();
    }

    private static RequestsRecorded CleanMinutes(string service, DateTimeOffset from, int minutes, int requestsPerMinute)
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < requestsPerMinute; i++)
        {
            histogram.Record(20_000 + (i % 50 * 1_000));
        }
        var latency = histogram.Encode();
        var start = LatencyRollup.StartOf(RollupGrain.Minute, from);
        return new RequestsRecorded(service, Endpoint, Enumerable.Range(0, minutes)
            .Select(m => new MinuteOfRequests(start.AddMinutes(m), requestsPerMinute, 0, latency))
            .ToList());
    }

    private static IEnumerable<byte[]> FailedRequests(string service, DateTimeOffset from, int minutes, int perMinute)
    {
        var start = LatencyRollup.StartOf(RollupGrain.Minute, from);
        for (var m = 0; m < minutes; m++)
        {
            for (var i = 0; i < perMinute; i++)
            {
                yield return TestTraffic.Request(service, Endpoint, 250, 503, start.AddMinutes(m).AddMilliseconds(i * 59_000.0 / perMinute));
            }
        }
    }

    private static async Task IngestAsync(RunningApp app, IEnumerable<byte[]> messages)
    {
        var body = "[" + string.Join(",", messages.Select(m => Encoding.UTF8.GetString(m))) + "]";
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await app.Client.PostAsync("/api/ingest", content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }
}
