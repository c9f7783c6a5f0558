using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace MaestroSla.Client.Recording;

/// <summary>
/// Records every request as MaestroSla's endpoint "{METHOD} {route template}" (the matched endpoint's RoutePattern,
/// as ASP.NET Core's and OpenTelemetry's http.route; never the path, whose ids would make a series per id), its
/// status (500 when the app threw before answering) and its latency from here to the end of the pipeline.
/// </summary>
internal sealed class MaestroSlaMiddleware(RequestDelegate next, MaestroSlaReporter reporter, IOptions<MaestroSlaOptions> options)
{
    private const string Unmatched = "(unmatched)";

    // As OpenTelemetry's semantic conventions: methods outside the standard set are one series, not one each.
    private static readonly FrozenSet<string> KnownMethods = FrozenSet.Create(StringComparer.Ordinal,
        HttpMethods.Get, HttpMethods.Head, HttpMethods.Post, HttpMethods.Put, HttpMethods.Delete, HttpMethods.Patch,
        HttpMethods.Options, HttpMethods.Trace, HttpMethods.Connect);

    // One name per (endpoint, method), made once: the request path only looks it up.
    private readonly ConcurrentDictionary<(Endpoint?, string), string> _names = new();
    private readonly Func<HttpContext, bool>? _filter = options.Value.Filter;
    private readonly Func<HttpContext, string?>? _customerOf = options.Value.CustomerOf;

    public async Task InvokeAsync(HttpContext context)
    {
        if (_filter is not null && !_filter(context))
        {
            await next(context);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        // WebApplication routes before the first middleware, so the endpoint is known here; an exception handler
        // further in re-executes the request on its error endpoint, which must not rename it. (With UseRouting called
        // after this middleware, the endpoint is known only afterwards.)
        var endpoint = context.GetEndpoint();
        try
        {
            await next(context);
        }
        catch
        {
            // What the server answers for an exception that reaches it, unless the response had already begun.
            Record(context, endpoint, started, context.Response.HasStarted ? context.Response.StatusCode : StatusCodes.Status500InternalServerError);
            throw;
        }
        Record(context, endpoint, started, context.Response.StatusCode);
    }

    private void Record(HttpContext context, Endpoint? endpoint, long started, int status)
    {
        var latency = Stopwatch.GetElapsedTime(started);
        var method = HttpMethods.GetCanonicalizedValue(context.Request.Method);
        var key = (endpoint ?? context.GetEndpoint(), KnownMethods.Contains(method) ? method : "_OTHER");
        if (!_names.TryGetValue(key, out var name))
        {
            name = _names.GetOrAdd(key, static k => Names.Clean(
                k.Item2 + " " + ((k.Item1 as RouteEndpoint)?.RoutePattern.RawText ?? Unmatched)));
        }
        reporter.RecordServed(name, latency, status, _customerOf is null ? null : Names.CleanCustomer(_customerOf(context)));
    }
}
