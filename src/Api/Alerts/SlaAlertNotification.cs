using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Wolverine.ErrorHandling;
using Wolverine.Runtime.Handlers;

namespace MaestroSla.Api.Alerts;

[JsonConverter(typeof(JsonStringEnumConverter<AlertStatus>))]
public enum AlertStatus
{
    Raised,
    Resolved,
}

/// <summary>
/// The webhook body for one raised or resolved alert. Delivery is at least once (a crash between the POST and
/// its acknowledgement repeats it), so <see cref="Id"/> is stable across retries for receivers to deduplicate.
/// </summary>
public sealed record SlaAlertNotification(
    string Id,
    AlertStatus Status,
    string Service,
    string Rule,
    AlertSeverity Severity,
    double? BurnRateLong,
    double? BurnRateShort,
    TimeSpan LongWindow,
    TimeSpan ShortWindow,
    DateTimeOffset At,
    string Summary)
{
    /// <param name="event">A <see cref="SlaAlertRaised"/> or <see cref="SlaAlertResolved"/>.</param>
    /// <param name="before">The service's alerts before the event: a resolution takes severity and windows from them.</param>
    public static SlaAlertNotification For(object @event, ServiceAlerts? before)
    {
        switch (@event)
        {
            case SlaAlertRaised r:
                return new SlaAlertNotification(
                    IdFor(r.Service, r.Rule, AlertStatus.Raised, r.At), AlertStatus.Raised, r.Service, r.Rule, r.Severity,
                    r.BurnRateLong, r.BurnRateShort, r.LongWindow, r.ShortWindow, r.At,
                    string.Create(CultureInfo.InvariantCulture,
                        $"{r.Severity.ToString().ToUpperInvariant()} {r.Service}: error budget burning {r.BurnRateLong:0.#}x over {Describe(r.LongWindow)} and {r.BurnRateShort:0.#}x over {Describe(r.ShortWindow)} ({r.Rule})"));
            case SlaAlertResolved r:
                var active = before?.Active.Find(a => a.Rule == r.Rule)
                    ?? throw new InvalidOperationException($"{r.Service} has no active alert {r.Rule} to resolve");
                return new SlaAlertNotification(
                    IdFor(r.Service, r.Rule, AlertStatus.Resolved, r.At), AlertStatus.Resolved, r.Service, r.Rule, active.Severity,
                    null, null, active.LongWindow, active.ShortWindow, r.At,
                    string.Create(CultureInfo.InvariantCulture,
                        $"RESOLVED {r.Service}: {r.Rule} no longer fires (active since {active.Since:u})"));
            default:
                throw new ArgumentException($"Not an alert event: {@event.GetType().Name}", nameof(@event));
        }
    }

    private static string IdFor(string service, string rule, AlertStatus status, DateTimeOffset at) =>
        string.Create(CultureInfo.InvariantCulture, $"{service}|{rule}|{status}|{at.UtcTicks}");

    private static string Describe(TimeSpan window) =>
        window.TotalDays >= 1 ? $"{window.TotalDays:0.#}d"
        : window.TotalHours >= 1 ? $"{window.TotalHours:0.#}h"
        : $"{window.TotalMinutes:0.#}m";
}

public static class SlaAlertNotificationHandler
{
    public const string HttpClientName = "sla-alert-webhook";

    /// <summary>
    /// A receiver that is down is retried soon, then for about two hours on a schedule (the schedule is stored
    /// with the durable queue, so it survives restarts), then the notification is dead-lettered where it can be
    /// replayed — never dropped.
    /// </summary>
    public static void Configure(HandlerChain chain) =>
        chain.OnException<HttpRequestException>().Or<TaskCanceledException>()
            .RetryWithCooldown(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5))
            .Then.ScheduleRetry(TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1))
            .Then.MoveToErrorQueue();

    public static async Task Handle(SlaAlertNotification notification, IHttpClientFactory clients, IOptions<SlaAlertOptions> options, CancellationToken ct)
    {
        var url = options.Value.WebhookUrl;
        if (url is null)
        {
            return;
        }
        using var client = clients.CreateClient(HttpClientName);
        using var response = await client.PostAsJsonAsync(url, notification, ct);
        // A non-2xx answer throws, which hands the notification to the retry policy above.
        response.EnsureSuccessStatusCode();
    }
}
