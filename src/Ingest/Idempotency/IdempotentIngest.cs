using Marten;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MaestroSla.Ingest.Idempotency;

/// <summary>A request sent with an Idempotency-Key: who sent it, the key, and the hash of what it sent.</summary>
public sealed record IdempotentSend(string Scope, string Key, byte[] RequestHash)
{
    public IdempotencyRecord Answered(int status, string contentType, byte[] body) => new(Scope, Key, RequestHash, status, contentType, body);
}

/// <summary>
/// What the ingest endpoints do with an Idempotency-Key before and after storing: recognise a retry of a stored
/// batch (answered with the first answer, nothing stored) or a reuse of its key for other data (422).
/// </summary>
public sealed class IdempotentIngest(IDocumentStore store, IOptions<IdempotencyOptions> options)
{
    public TimeSpan KeyLifetime => options.Value.KeyLifetime;

    /// <summary>
    /// The send this request makes, or null without a key. Keys are per API key (the caller's name): two clients
    /// choosing the same key never see each other's answers.
    /// </summary>
    public static IdempotentSend SendOf(HttpRequest request, string key, ReadOnlySpan<byte> body) =>
        new(request.HttpContext.User.Identity?.Name ?? "", key, IdempotencyKeys.HashOf(request.Path, body));

    /// <summary>The first answer when this key was stored, a 422 when it was stored for another body, else null.</summary>
    public async Task<IResult?> AnswerIfStoredAsync(IdempotentSend send, CancellationToken ct)
    {
        var stored = await IdempotencyKeys.FindAsync(store, send.Scope, send.Key, ct);
        if (stored is null)
        {
            return null;
        }
        if (!stored.RequestHash.AsSpan().SequenceEqual(send.RequestHash))
        {
            return Results.Problem(
                title: $"This {IdempotencyKeys.HeaderName} was used for another request",
                detail: $"header '{IdempotencyKeys.HeaderName}': key '{send.Key}' was stored with a different body or path. Nothing was stored; send new data under a new key.",
                statusCode: StatusCodes.Status422UnprocessableEntity);
        }
        return new ReplayedAnswer(stored);
    }

    public static IResult BadKey(string problem) => Results.ValidationProblem(
        new Dictionary<string, string[]> { [IdempotencyKeys.HeaderName] = [problem] },
        title: "The Idempotency-Key header is not usable; nothing was stored");

    /// <summary>The first answer again, marked as a replay.</summary>
    private sealed class ReplayedAnswer(StoredAnswer answer) : IResult
    {
        public const string ReplayedHeader = "Idempotent-Replayed";

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = answer.Status;
            response.ContentType = answer.ContentType;
            response.Headers[ReplayedHeader] = "true";
            response.ContentLength = answer.Body.Length;
            await response.Body.WriteAsync(answer.Body, httpContext.RequestAborted);
        }
    }
}
