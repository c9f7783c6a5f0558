using System.Globalization;
using System.Threading.RateLimiting;
using MaestroSla.Ingest.Otlp;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Security;

/// <summary>Request body sizes (413) and per-key rate limits (429 with Retry-After), both answered with problem details.</summary>
public static class RequestLimits
{
    /// <summary>Sets each request's body limit from its endpoint; refuses a declared length over it before reading a byte.</summary>
    public static async Task LimitBodyAsync(HttpContext context, RequestDelegate next)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<ApiAccess.LargeRequestBody>() is null
            ? options.MaxBodyBytes
            : options.MaxIngestBodyBytes;
        if (context.Request.ContentLength > limit)
        {
            // Answered before a byte is read (a client sending Expect: 100-continue never sends the body). Kestrel's
            // own limit is left as it is, so it can drain a body already on its way and keep the connection.
            await TooLargeAsync(context, limit);
            return;
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = limit;
        }
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge && !context.Response.HasStarted)
        {
            // A chunked body ran past the limit while the endpoint was reading it.
            await TooLargeAsync(context, limit);
        }
    }

    private static async Task TooLargeAsync(HttpContext context, long limit)
    {
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "The request body is too large",
                Detail = string.Create(CultureInfo.InvariantCulture, $"{context.Request.Path} takes at most {limit} bytes; split the data into several requests."),
            },
        });
    }

    private const string OtlpTracesPath = "/v1/traces";

    /// <summary>Whether a request counts against its key's rate limit: the API, and OTLP/HTTP ingest like /api/ingest.</summary>
    public static bool IsLimited(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments(OtlpTracesPath, StringComparison.OrdinalIgnoreCase);

    public static void Configure(RateLimiterOptions limiter, SecurityOptions security, ApiKeyStore keys)
    {
        var rate = security.RateLimit;
        limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
        limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            // Probes, metrics and documentation are never limited; the API and the OTLP receiver (ingest too) are.
            if (!rate.Enabled || !IsLimited(context.Request.Path))
            {
                return RateLimitPartition.GetNoLimiter("unlimited");
            }
            var keyName = context.User.FindFirst(ApiClaims.KeyName)?.Value;
            var partition = keyName is null ? "address:" + context.Connection.RemoteIpAddress : "key:" + keyName;
            var permits = (keyName is null ? null : keys.PermitLimitOf(keyName)) ?? rate.PermitLimit;
            return RateLimitPartition.GetFixedWindowLimiter(partition, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = rate.Window,
                QueueLimit = rate.QueueLimit,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
        });
        limiter.OnRejected = async (rejected, ct) =>
        {
            var context = rejected.HttpContext;
            var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : rate.Window;
            var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            var who = context.User.FindFirst(ApiClaims.KeyName)?.Value is { } name ? $"API key '{name}'" : "This client";
            var detail = string.Create(CultureInfo.InvariantCulture, $"{who} has used its requests for the current {rate.Window.TotalSeconds} s window; retry after {seconds} s.");
            if (context.Request.Path.StartsWithSegments(OtlpTracesPath, StringComparison.OrdinalIgnoreCase))
            {
                // OTLP exporters read a google.rpc.Status, not problem details; the 429 and Retry-After make them retry.
                await OtlpTraceEndpoints.WriteRefusalAsync(context, StatusCodes.Status429TooManyRequests, detail);
                return;
            }
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status429TooManyRequests,
                    Title = "Too many requests",
                    Detail = detail,
                },
            });
        };
    }
}
