using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using MaestroSla.Client.Buffering;
using Microsoft.Extensions.Logging;
using Polly.Timeout;

namespace MaestroSla.Client.Sending;

/// <summary>
/// POST /api/ingest, one JSON array per batch under a fresh Idempotency-Key. The named HttpClient retries a failed
/// attempt with back-off (Microsoft.Extensions.Http.Resilience) resending the same key, so a batch whose answer was
/// lost on the way back is stored once: MaestroSla answers the retry with the first answer.
/// </summary>
internal sealed class HttpTransport : ITelemetryTransport
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string ApiKeyHeader = "X-Api-Key";

    private readonly IHttpClientFactory _clients;
    private readonly TelemetryBuffer _buffer;
    private readonly ILogger<HttpTransport> _logger;
    private readonly Uri _ingest;
    private readonly string? _apiKey;
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);

    public HttpTransport(IHttpClientFactory clients, MaestroSlaHttpOptions options, TimeSpan linger, TelemetryBuffer buffer, ILogger<HttpTransport> logger)
    {
        _clients = clients;
        _buffer = buffer;
        _logger = logger;
        // Relative to the endpoint's path, so MaestroSla behind a proxy prefix (http://gateway/maestrosla/) works too.
        var root = options.Endpoint!.AbsoluteUri.EndsWith('/') ? options.Endpoint : new Uri(options.Endpoint.AbsoluteUri + "/");
        _ingest = new Uri(root, "api/ingest");
        _apiKey = string.IsNullOrEmpty(options.ApiKey) ? null : options.ApiKey;
        MaxBatch = options.MaxBatchMessages;
        Linger = linger;
    }

    public int MaxBatch { get; }

    public TimeSpan Linger { get; }

    public async Task SendAsync(IReadOnlyList<PendingTelemetry> batch, CancellationToken abort)
    {
        _body.ResetWrittenCount();
        _body.Write("["u8);
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0)
            {
                _body.Write(","u8);
            }
            _body.Write(batch[i].ToMessage());
        }
        _body.Write("]"u8);

        using var request = new HttpRequestMessage(HttpMethod.Post, _ingest) { Content = new ReadOnlyMemoryContent(_body.WrittenMemory) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(IdempotencyKeyHeader, Guid.NewGuid().ToString("N"));
        if (_apiKey is not null)
        {
            request.Headers.Add(ApiKeyHeader, _apiKey);
        }
        try
        {
            using var response = await _clients.CreateClient(MaestroSlaOptions.HttpClientName).SendAsync(request, abort);
            if (response.IsSuccessStatusCode)
            {
                _buffer.Sent(batch.Count);
                return;
            }
            var transient = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            var answer = await response.Content.ReadAsStringAsync(abort);
            _logger.LogWarning(
                "MaestroSla answered {Status} to a batch of {Count} messages ({Outcome}), which is dropped: {Answer}",
                (int)response.StatusCode, batch.Count, transient ? "after every retry" : "refused", answer.Length > 2000 ? answer[..2000] : answer);
            _buffer.Dropped(batch.Count, transient ? MaestroSlaMetrics.Reasons.SendFailed : MaestroSlaMetrics.Reasons.Rejected);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            _buffer.Dropped(batch.Count, MaestroSlaMetrics.Reasons.SendFailed);
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutRejectedException or OperationCanceledException)
        {
            _logger.LogWarning(ex, "A batch of {Count} messages could not be sent to {Address} after every retry; it is dropped", batch.Count, _ingest);
            _buffer.Dropped(batch.Count, MaestroSlaMetrics.Reasons.SendFailed);
        }
    }

    // Every batch was answered before SendAsync returned.
    public Task CompleteAsync(CancellationToken abort) => Task.CompletedTask;
}
