using MaestroSla.Client.Buffering;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MaestroSla.Client.Sending;

/// <summary>
/// Moves batches from the buffer to the transport, one at a time, on its own task. It keeps sending while the web
/// server drains its last requests and stops only once every hosted service has stopped (StoppedAsync): then it
/// sends what is left, until the host's shutdown timeout, and counts whatever that timeout cut off as dropped.
/// </summary>
internal sealed class TelemetrySender(TelemetryBuffer buffer, ITelemetryTransport transport, ILogger<TelemetrySender> logger)
    : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(() => RunAsync(_abort.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // The server may still be answering requests here; they are recorded and sent.
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        buffer.Complete();
        using (cancellationToken.Register(_abort.Cancel))
        {
            await _loop;
            await transport.CompleteAsync(_abort.Token);
        }
    }

    public void Dispose() => _abort.Dispose();

    private async Task RunAsync(CancellationToken abort)
    {
        var reader = buffer.Reader;
        var batch = new List<PendingTelemetry>(Math.Min(transport.MaxBatch, 10_000));
        try
        {
            while (await reader.WaitToReadAsync(abort))
            {
                await FillAsync(batch, abort);
                await transport.SendAsync(batch, abort);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // The shutdown timeout: the transport counted its batch; what is still buffered is counted here.
            var left = 0;
            while (reader.TryRead(out _))
            {
                left++;
            }
            buffer.Dropped(left, MaestroSlaMetrics.Reasons.SendFailed);
            if (left > 0)
            {
                logger.LogWarning("{Count} buffered messages were not sent to MaestroSla before the shutdown timeout", left);
            }
        }
        catch (Exception ex)
        {
            // A bug here must not go unnoticed, nor take the app down: telemetry stops (the buffer fills and counts its
            // drops), the app goes on.
            logger.LogError(ex, "Sending to MaestroSla stopped");
        }
    }

    /// <summary>Up to MaxBatch messages: what is buffered now, then what arrives within the transport's linger.</summary>
    private async Task FillAsync(List<PendingTelemetry> batch, CancellationToken abort)
    {
        var reader = buffer.Reader;
        var max = transport.MaxBatch;
        while (batch.Count < max && reader.TryRead(out var item))
        {
            batch.Add(item);
        }
        if (batch.Count >= max || transport.Linger <= TimeSpan.Zero)
        {
            return;
        }
        using var window = CancellationTokenSource.CreateLinkedTokenSource(abort);
        window.CancelAfter(transport.Linger);
        while (batch.Count < max)
        {
            try
            {
                if (!await reader.WaitToReadAsync(window.Token))
                {
                    return; // completed: send what there is
                }
            }
            catch (OperationCanceledException) when (!abort.IsCancellationRequested)
            {
                return; // the linger is over
            }
            while (batch.Count < max && reader.TryRead(out var item))
            {
                batch.Add(item);
            }
        }
    }
}
