using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest.Idempotency;

/// <summary>
/// Deletes keys whose time is up. Lookups already ignore them (and a new batch takes an expired key's row over), so
/// this only keeps the table to about a lifetime's worth of batches.
/// </summary>
public sealed class IdempotencyKeyExpiry(IDocumentStore store, IOptions<IdempotencyOptions> options, ILogger<IdempotencyKeyExpiry> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var every = TimeSpan.FromTicks(Math.Clamp(options.Value.KeyLifetime.Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute * 10));
        using var timer = new PeriodicTimer(every);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var deleted = await IdempotencyKeys.DeleteExpiredAsync(store, stoppingToken);
                if (deleted > 0)
                {
                    logger.LogDebug("Deleted {Count} expired idempotency keys", deleted);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Expired idempotency keys not deleted; trying again later");
            }
        }
    }
}
