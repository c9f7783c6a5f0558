using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace MaestroSla.Client.Buffering;

/// <summary>
/// The bounded buffer between the app and the sender, and the counters that account for every message: each one
/// recorded is eventually sent or dropped with a reason; one the buffer could not take is dropped at once.
/// </summary>
internal sealed class TelemetryBuffer
{
    private readonly Channel<PendingTelemetry> _channel;
    private readonly Counter<long> _recorded;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _dropped;
    private volatile bool _completed;

    public TelemetryBuffer(IOptions<MaestroSlaOptions> options, IMeterFactory meters)
    {
        // TryWrite on a full channel in Wait mode returns false at once: the request goes on, the message is counted.
        _channel = Channel.CreateBounded<PendingTelemetry>(new BoundedChannelOptions(options.Value.BufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        var meter = meters.Create(MaestroSlaMetrics.MeterName);
        _recorded = meter.CreateCounter<long>(MaestroSlaMetrics.Recorded, "{message}", "Messages taken into the buffer to be sent to MaestroSla");
        _sent = meter.CreateCounter<long>(MaestroSlaMetrics.Sent, "{message}", "Messages MaestroSla (HTTP) or Kafka acknowledged");
        _dropped = meter.CreateCounter<long>(MaestroSlaMetrics.Dropped, "{message}", "Messages given up, by reason");
        meter.CreateObservableUpDownCounter(MaestroSlaMetrics.Buffered, () => _channel.Reader.Count, "{message}", "Messages waiting in the buffer");
    }

    public ChannelReader<PendingTelemetry> Reader => _channel.Reader;

    public bool TryAdd(in PendingTelemetry item)
    {
        if (_channel.Writer.TryWrite(item))
        {
            _recorded.Add(1);
            return true;
        }
        Dropped(1, _completed ? MaestroSlaMetrics.Reasons.Stopped : MaestroSlaMetrics.Reasons.BufferFull);
        return false;
    }

    /// <summary>No more messages are taken; the sender sends what is buffered and then ends.</summary>
    public void Complete()
    {
        _completed = true;
        _channel.Writer.TryComplete();
    }

    public void Sent(long count) => _sent.Add(count);

    public void Dropped(long count, string reason)
    {
        if (count > 0)
        {
            _dropped.Add(count, new KeyValuePair<string, object?>(MaestroSlaMetrics.ReasonTag, reason));
        }
    }
}
