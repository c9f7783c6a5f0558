using Confluent.Kafka;
using MaestroSla.Client.Buffering;
using Microsoft.Extensions.Logging;

namespace MaestroSla.Client.Sending;

/// <summary>
/// Each message to MaestroSla's ingest topic, keyed by service (so one ingest consumer sees all of a service and
/// stores one event per endpoint-minute), through an idempotent producer: librdkafka batches (linger.ms), and its
/// retries after a lost acknowledgement never write a message twice.
/// </summary>
internal sealed class KafkaTransport : ITelemetryTransport, IDisposable
{
    private static readonly TimeSpan QueueFullWait = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan FailureLogInterval = TimeSpan.FromSeconds(10);

    private readonly IProducer<string, byte[]> _producer;
    private readonly string _topic;
    private readonly TelemetryBuffer _buffer;
    private readonly ILogger<KafkaTransport> _logger;
    private readonly Action<DeliveryReport<string, byte[]>> _delivered;
    private long _lastFailureLog;

    public KafkaTransport(MaestroSlaKafkaOptions options, TelemetryBuffer buffer, ILogger<KafkaTransport> logger)
    {
        _topic = options.Topic;
        _buffer = buffer;
        _logger = logger;
        var config = new ProducerConfig
        {
            EnableIdempotence = true,
            LingerMs = 50,
            // Only whether each message arrived is needed, not its key and value copied back.
            DeliveryReportFields = "status",
        };
        foreach (var (key, value) in options.Client)
        {
            config.Set(key, value);
        }
        config.BootstrapServers = options.BootstrapServers;
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => logger.LogWarning("Kafka producer for MaestroSla: {Reason} ({Code})", error.Reason, error.Code))
            .SetLogHandler((_, message) => logger.LogDebug("librdkafka {Facility}: {Message}", message.Facility, message.Message))
            .Build();
        _delivered = Delivered;
    }

    // librdkafka batches by itself; the sender only moves messages from the buffer into its queue.
    public int MaxBatch => 1_000;

    public TimeSpan Linger => TimeSpan.Zero;

    public async Task SendAsync(IReadOnlyList<PendingTelemetry> batch, CancellationToken abort)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var message = new Message<string, byte[]> { Key = batch[i].Service, Value = batch[i].ToMessage() };
            while (true)
            {
                try
                {
                    _producer.Produce(_topic, message, _delivered);
                    break;
                }
                catch (ProduceException<string, byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    // The broker is away or slow and librdkafka's queue is full: wait for room. Meanwhile the app's
                    // messages wait in the bounded buffer, or are dropped from it, counted.
                    try
                    {
                        await Task.Delay(QueueFullWait, abort);
                    }
                    catch (OperationCanceledException)
                    {
                        _buffer.Dropped(batch.Count - i, MaestroSlaMetrics.Reasons.SendFailed);
                        throw;
                    }
                }
                catch (ProduceException<string, byte[]> ex)
                {
                    LogFailure(ex.Error);
                    _buffer.Dropped(1, MaestroSlaMetrics.Reasons.SendFailed);
                    break;
                }
            }
        }
    }

    public Task CompleteAsync(CancellationToken abort) => Task.Run(() =>
    {
        int inFlight;
        while ((inFlight = _producer.Flush(TimeSpan.FromMilliseconds(100))) > 0)
        {
            if (abort.IsCancellationRequested)
            {
                // Their delivery reports will not come: the producer is disposed next.
                _logger.LogWarning("{Count} messages to MaestroSla were still unacknowledged when the app stopped; they are dropped", inFlight);
                _buffer.Dropped(inFlight, MaestroSlaMetrics.Reasons.SendFailed);
                return;
            }
        }
    }, CancellationToken.None);

    public void Dispose() => _producer.Dispose();

    private void Delivered(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            LogFailure(report.Error);
            _buffer.Dropped(1, MaestroSlaMetrics.Reasons.SendFailed);
        }
        else
        {
            _buffer.Sent(1);
        }
    }

    /// <summary>A broker away for minutes fails every message: one line every few seconds says so, the metric counts them.</summary>
    private void LogFailure(Error error)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if (now - last >= FailureLogInterval.TotalMilliseconds && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            _logger.LogWarning("Messages to MaestroSla's topic {Topic} failed: {Reason} ({Code}); see maestrosla.client.dropped", _topic, error.Reason, error.Code);
        }
    }
}
