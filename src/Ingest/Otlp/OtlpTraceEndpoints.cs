using System.Globalization;
using System.IO.Compression;
using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Http;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Ingest.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using OpenTelemetry.Proto.Collector.Trace.V1;
using Wolverine.Http;

namespace MaestroSla.Ingest.Otlp;

/// <summary>
/// OTLP/HTTP traces receiver at the standard path, so an OpenTelemetry SDK or Collector pointed at MaestroSla
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) sends its spans unchanged. Answers follow the OTLP/HTTP specification so
/// exporters retry exactly what can succeed later: 200 (with partial_success naming what was refused), 400 for
/// what can never be read, 429 and 503 with Retry-After when MaestroSla is saturated or its store is down.
/// </summary>
/// <remarks>
/// An export's accepted spans are stored in one transaction through the same group commit as /api/ingest (all or
/// nothing, Idempotency-Key honoured); its refused spans are reported and never stored.
/// </remarks>
public static class OtlpTraceEndpoints
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    [WolverinePost("/v1/traces")]
    public static async Task<IResult> Traces(
        HttpRequest request, HttpResponse response, OtlpSpanDecoder decoder, SeriesCatalog catalog, HttpGroupCommit queue,
        IdempotentIngest idempotency, IOptions<OtlpOptions> options, CancellationToken ct)
    {
        var json = IsJson(request.ContentType);
        if (!json && !IsProtobuf(request.ContentType))
        {
            return Results.Problem(
                title: "Unsupported content type",
                detail: $"header 'Content-Type': OTLP/HTTP takes {Protobuf} or {Json}, not '{request.ContentType}'.",
                statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return Results.Problem(
                title: "Unsupported content encoding",
                detail: $"header 'Content-Encoding': gzip or none, not '{encoding}'.",
                statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        var key = IdempotencyKeys.Read(request, out var keyProblem);
        if (keyProblem is not null)
        {
            return IdempotentIngest.BadKey(keyProblem);
        }

        using var body = new MemoryStream();
        try
        {
            await using var source = gzip ? new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true) : request.Body;
            if (!await CopyAtMostAsync(source, body, options.Value.MaxDecodedBodyBytes, ct))
            {
                return Failure(json, StatusCodes.Status413PayloadTooLarge, StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                    $"The export holds more than {options.Value.MaxDecodedBodyBytes} bytes (Ingest:Otlp:MaxDecodedBodyBytes); send smaller batches."));
            }
        }
        catch (InvalidDataException ex)
        {
            return Failure(json, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, "The body is not valid gzip: " + ex.Message);
        }
        var bytes = body.GetBuffer().AsMemory(0, (int)body.Length);

        IdempotentSend? send = null;
        if (key is not null)
        {
            send = IdempotentIngest.SendOf(request, key, bytes.Span);
            if (await idempotency.AnswerIfStoredAsync(send, ct) is { } stored)
            {
                return stored;
            }
        }

        // Protobuf is read in place; OTLP/JSON is parsed first and read the same way.
        var requests = new List<RequestMetric>();
        OtlpSpanCounts counts;
        try
        {
            counts = json
                ? decoder.Decode(Parser.Parse<ExportTraceServiceRequest>(new StreamReader(new MemoryStream(body.GetBuffer(), 0, (int)body.Length))), requests)
                : decoder.Decode(bytes.Span, requests);
        }
        catch (Exception ex) when (ex is OtlpFormatException or InvalidProtocolBufferException or InvalidJsonException or FormatException or ArgumentException or InvalidOperationException)
        {
            return Failure(json, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument,
                $"The body is not an OTLP ExportTraceServiceRequest in {(json ? "JSON" : "protobuf")}: {ex.Message}");
        }

        if (counts.Total > options.Value.MaxSpansPerRequest)
        {
            return Failure(json, StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                $"At most {options.Value.MaxSpansPerRequest} spans per export (Ingest:Otlp:MaxSpansPerRequest); this one holds {counts.Total}. Send smaller batches."));
        }

        var batch = new IngestBatch(catalog);
        foreach (var metric in requests)
        {
            batch.Add(DecodedMessage.FromRequest(metric));
        }
        var answer = new ExportTraceServiceResponse();
        if (counts.Rejected > 0)
        {
            answer.PartialSuccess = new ExportTracePartialSuccess
            {
                RejectedSpans = counts.Rejected,
                ErrorMessage = string.Create(CultureInfo.InvariantCulture,
                    $"{counts.Rejected} of {counts.Accepted + counts.Rejected} SERVER spans were refused; the first: {counts.FirstRejection}"),
            };
        }
        var contentType = json ? Json : Protobuf;
        var answerBytes = json ? System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(answer)) : answer.ToByteArray();

        if (!batch.IsEmpty)
        {
            var outcome = await queue.StoreAsync(batch, send?.Answered(StatusCodes.Status200OK, contentType, answerBytes), ct);
            if (outcome == HttpIngestOutcome.KeyAlreadyStored)
            {
                return await TelemetryHttpEndpoints.KeyAlreadyStoredAsync(idempotency, send!, ct);
            }
            if (outcome != HttpIngestOutcome.Stored)
            {
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(queue.Options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                return outcome == HttpIngestOutcome.Overloaded
                    ? Failure(json, StatusCodes.Status429TooManyRequests, StatusCode.ResourceExhausted,
                        "Too many spans are waiting to be stored; nothing of this export was stored: send it again after Retry-After.")
                    : Failure(json, StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable,
                        "The export was not stored (the store is slow or unavailable); send it again after Retry-After.");
            }
        }
        OtlpSpanDecoder.CountStored(counts);
        return Results.Bytes(answerBytes, contentType);
    }

    /// <summary>
    /// Answers a request to /v1/traces refused before it reached the receiver (e.g. by the rate limiter) as OTLP/HTTP
    /// wants any 4xx/5xx: a google.rpc.Status in the request's encoding. Headers such as Retry-After are the caller's.
    /// </summary>
    public static Task WriteRefusalAsync(HttpContext context, int httpStatus, string message)
    {
        ArgumentNullException.ThrowIfNull(context);
        var code = httpStatus == StatusCodes.Status429TooManyRequests ? StatusCode.ResourceExhausted : StatusCode.Unavailable;
        return Failure(IsJson(context.Request.ContentType), httpStatus, code, message).ExecuteAsync(context);
    }

    private static bool IsProtobuf(string? contentType) =>
        contentType is not null && (MediaIs(contentType, Protobuf) || MediaIs(contentType, "application/protobuf"));

    private static bool IsJson(string? contentType) => contentType is not null && MediaIs(contentType, Json);

    private static bool MediaIs(string contentType, string media) =>
        contentType.StartsWith(media, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == media.Length || contentType[media.Length] is ';' or ' ');

    private static async Task<bool> CopyAtMostAsync(Stream source, MemoryStream target, long limit, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81_920);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, ct)) > 0)
            {
                if (target.Length + read > limit)
                {
                    return false;
                }
                target.Write(buffer, 0, read);
            }
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private enum StatusCode
    {
        InvalidArgument = 3,
        ResourceExhausted = 8,
        Unavailable = 14,
    }

    /// <summary>A 4xx/5xx as OTLP/HTTP wants it: a google.rpc.Status in the request's encoding.</summary>
    private static Answer Failure(bool json, int httpStatus, StatusCode code, string message)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        return json
            ? new Answer(httpStatus, Json, System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(status)))
            : new Answer(httpStatus, Protobuf, status.ToByteArray());
    }

    private sealed class Answer(int status, string contentType, byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = contentType;
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}
