using System.Diagnostics;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Services;
using Marten;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Reports;

/// <summary>
/// Once the host has started, computes every service's report for the current month (UTC, whole service, JSON) — what
/// /api/status and a bare /api/reports/{service} ask for — so the first callers do not pay for it. Start-up never
/// waits for it, and a failure only costs the warm start.
/// </summary>
public sealed class ReportCacheWarmer(
    ReportCache cache,
    IDocumentStore store,
    IOptions<ReportCacheOptions> options,
    TimeProvider time,
    IHostApplicationLifetime lifetime,
    ILogger<ReportCacheWarmer> logger) : BackgroundService
{
    /// <summary>How many services were warmed, once warming has finished (0 when skipped or failed).</summary>
    public Task<int> Warmed => _warmed.Task;

    private readonly TaskCompletionSource<int> _warmed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!cache.Enabled || !options.Value.WarmOnStart)
        {
            _warmed.TrySetResult(0);
            return;
        }
        try
        {
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            _warmed.TrySetResult(await WarmAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _warmed.TrySetResult(0);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            logger.LogWarning(ex, "Warming the report cache failed; reports are computed on first request instead");
            _warmed.TrySetResult(0);
        }
    }

    private async Task<int> WarmAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        await using var session = store.QuerySession();
        var (period, _) = ReportPeriod.Resolve(null, null, null, null, time.GetUtcNow());
        var positions = await cache.ReadPositionsAsync(ct);
        var services = await KnownServices.ListAsync(session, ct);
        foreach (var service in services)
        {
            await cache.GetAsync(new ReportRequest(service, null, period!, null), positions, ct);
        }
        logger.LogInformation("Report cache warmed: {Services} services for the month from {From:O} in {Elapsed} ms ({Policy})",
            services.Count, period!.From, clock.ElapsedMilliseconds, cache.Implementation);
        return services.Count;
    }
}
