using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Idempotency;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.AspNetCore.Http;
using Wolverine.Http;

namespace MaestroSla.Ingest.Http;

public sealed record IngestAccepted(int Messages, long Requests);

public sealed record DeadLetterView(
    string Id, string Source, string? Topic, int? Partition, long? Offset, string Reason, DateTimeOffset ReceivedAt,
    string PayloadText, string PayloadBase64);

/// <summary>HTTP ingest for applications without Kafka: same contract, same validation, same events.</summary>
public static class TelemetryHttpEndpoints
{
    public const int MaxMessagesPerRequest = 50_000;

    /// <summary>
    /// Takes a JSON array of telemetry messages. The batch is atomic: if any message is invalid, nothing is
    /// stored and every rejected message is named by its index with the reason, so a client can fix and resend
    /// the whole batch without creating duplicates.
    /// </summary>
    /// <remarks>
    /// Concurrent requests are stored together (<see cref="HttpGroupCommit"/>). When the service is saturated or the
    /// store fails, the answer is 503 with Retry-After and nothing of the batch is stored, so the client retries it
    /// as it is.
    /// </remarks>
    /// <remarks>
    /// With an Idempotency-Key header, a batch is stored at most once per key (see <see cref="IdempotentIngest"/>).
    /// </remarks>
    [WolverinePost("/api/ingest")]
    public static async Task<IResult> Ingest(
        HttpRequest request, HttpResponse response, TelemetryDecoder decoder, SeriesCatalog catalog, HttpGroupCommit queue,
        IdempotentIngest idempotency, CancellationToken ct)
    {
        var key = IdempotencyKeys.Read(request, out var keyProblem);
        if (keyProblem is not null)
        {
            return IdempotentIngest.BadKey(keyProblem);
        }
        IdempotentSend? send = null;
        JsonDocument document;
        try
        {
            if (key is null)
            {
                document = await JsonDocument.ParseAsync(request.Body, default, ct);
            }
            else
            {
                // The whole body is needed for its hash before anything is decided.
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body, ct);
                send = IdempotentIngest.SendOf(request, key, body.GetBuffer().AsSpan(0, (int)body.Length));
                if (await idempotency.AnswerIfStoredAsync(send, ct) is { } stored)
                {
                    return stored;
                }
                document = JsonDocument.Parse(body.GetBuffer().AsMemory(0, (int)body.Length));
            }
        }
        catch (JsonException ex)
        {
            return Results.Problem(title: "The body is not valid JSON", detail: ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                return Results.Problem(title: "The body must be a JSON array of telemetry messages", statusCode: StatusCodes.Status400BadRequest);
            }
            if (root.GetArrayLength() > MaxMessagesPerRequest)
            {
                return Results.Problem(
                    title: $"At most {MaxMessagesPerRequest} messages per request",
                    detail: $"The body holds {root.GetArrayLength()}; split it into several requests.",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            var batch = new IngestBatch(catalog);
            var rejected = new Dictionary<string, string[]>();
            var index = 0;
            foreach (var element in root.EnumerateArray())
            {
                var decoded = decoder.Decode(JsonMarshal.GetRawUtf8Value(element));
                if (decoded.IsValid)
                {
                    batch.Add(decoded);
                }
                else
                {
                    rejected[$"[{index}]"] = [decoded.Error!];
                }
                index++;
            }

            if (rejected.Count > 0)
            {
                return Results.ValidationProblem(rejected, title: $"{rejected.Count} of {index} messages were rejected; nothing was stored");
            }

            var accepted = new IngestAccepted(batch.MessageCount, batch.RequestCount);
            if (send is null)
            {
                if (!batch.IsEmpty)
                {
                    var outcome = await queue.StoreAsync(batch, ct);
                    if (outcome != HttpIngestOutcome.Stored)
                    {
                        return Retryable(response, queue.Options.RetryAfter, outcome);
                    }
                }
                return Results.Ok(accepted);
            }

            var answer = JsonSerializer.SerializeToUtf8Bytes(accepted, JsonSerializerOptions.Web);
            if (!batch.IsEmpty)
            {
                var outcome = await queue.StoreAsync(batch, send.Answered(StatusCodes.Status200OK, "application/json", answer), ct);
                if (outcome == HttpIngestOutcome.KeyAlreadyStored)
                {
                    return await KeyAlreadyStoredAsync(idempotency, send, ct);
                }
                if (outcome != HttpIngestOutcome.Stored)
                {
                    return Retryable(response, queue.Options.RetryAfter, outcome);
                }
            }
            return Results.Bytes(answer, "application/json");
        }
    }

    /// <summary>A concurrent send of the same key was stored first: its answer, or 422 if it held other data.</summary>
    internal static async Task<IResult> KeyAlreadyStoredAsync(IdempotentIngest idempotency, IdempotentSend send, CancellationToken ct) =>
        await idempotency.AnswerIfStoredAsync(send, ct)
        // Stored and expired in the instant between: the client's retry is stored afresh.
        ?? Results.Problem(
            title: "Not stored; retry later",
            detail: $"header '{IdempotencyKeys.HeaderName}': the key was being stored by another request; send the batch again.",
            statusCode: StatusCodes.Status409Conflict);

    internal static IResult Retryable(HttpResponse response, TimeSpan retryAfter, HttpIngestOutcome outcome)
    {
        response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var detail = outcome switch
        {
            HttpIngestOutcome.Overloaded => "Too many messages are waiting to be stored.",
            HttpIngestOutcome.TimedOut => "The batch waited too long to be stored.",
            _ => "The event store did not take the batch.",
        };
        return Results.Problem(
            title: "Not stored; retry later",
            detail: detail + " Nothing of this batch was stored: send it again after Retry-After.",
            statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The newest dead letters, with their original payload and the reason they were refused.</summary>
    [WolverineGet("/api/dead-letters")]
    public static async Task<IReadOnlyList<DeadLetterView>> DeadLetters(IQuerySession session, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var deadLetters = await session.Query<DeadLetter>()
            .OrderByDescending(x => x.ReceivedAt)
            .Take(take)
            .ToListAsync(ct);
        return deadLetters.Select(d => new DeadLetterView(
            d.Id, d.Source, d.Topic, d.Partition, d.Offset, d.Reason, d.ReceivedAt,
            Encoding.UTF8.GetString(d.Payload), Convert.ToBase64String(d.Payload))).ToList();
    }
}
