using Microsoft.Extensions.Options;
using Wolverine;

namespace MaestroSla.Api.Alerts;

/// <summary>
/// Sends <see cref="EvaluateSlaAlerts"/> through Wolverine every Sla:Alerts:EvaluateEvery, at "now" from the
/// TimeProvider.
/// </summary>
/// <remarks>
/// A timer rather than a self-rescheduling Wolverine message: there is no first message to seed, no chain to
/// deduplicate after a restart or on a second node, and the period follows the injected TimeProvider (Wolverine's
/// scheduled delivery uses the wall clock). Each node evaluates; the alert stream's version makes concurrent
/// evaluations of one service raise an alert once (see EvaluateServiceSlaAlertsHandler).
/// </remarks>
public sealed class SlaAlertScheduler(
    IServiceScopeFactory scopes, TimeProvider time, IOptions<SlaAlertOptions> options, ILogger<SlaAlertScheduler> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = options.Value.EvaluateEvery;
        if (every <= TimeSpan.Zero)
        {
            logger.LogInformation("SLA alert evaluation is not scheduled (Sla:Alerts:EvaluateEvery is {Every})", every);
            return;
        }

        using var timer = new PeriodicTimer(every, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
                // Invoke rather than publish: a slow evaluation delays the next tick instead of piling up behind it.
                await bus.InvokeAsync(new EvaluateSlaAlerts(time.GetUtcNow()), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // One failed round (database restarting, say) must not stop the schedule.
                logger.LogError(ex, "SLA alert evaluation failed; retrying at the next tick");
            }
        }
    }
}
