using MaestroSla.Client.Buffering;

namespace MaestroSla.Client.Sending;

/// <summary>Where batches go. A transport accounts for every message it is handed: sent or dropped with a reason.</summary>
internal interface ITelemetryTransport
{
    /// <summary>Messages taken from the buffer per <see cref="SendAsync"/>.</summary>
    int MaxBatch { get; }

    /// <summary>How long a batch may wait to fill (zero: the transport batches by itself).</summary>
    TimeSpan Linger { get; }

    /// <exception cref="OperationCanceledException">Only when <paramref name="abort"/> fired; the batch is then counted as dropped.</exception>
    Task SendAsync(IReadOnlyList<PendingTelemetry> batch, CancellationToken abort);

    /// <summary>After the last batch: waits for what is still in flight (until <paramref name="abort"/>).</summary>
    Task CompleteAsync(CancellationToken abort);
}
