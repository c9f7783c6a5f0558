using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Shouldly;

namespace MaestroSla.Tests.Client;

/// <summary>
/// An ASP.NET Core app that uses MaestroSla.Client as an app would (AddMaestroSla, UseMaestroSla, a health check), on
/// a free loopback port, with endpoints that take as long as the test asks and answer what it asks.
/// </summary>
public sealed class ShopApp : IAsyncDisposable
{
    public const string Delay = "GET /delay/{ms:int}";
    public const string Fail = "GET /fail/{ms:int}";
    public const string Throws = "POST /orders";

    /// <summary>Recorded with '¦' for the '|' of its regex constraint, which MaestroSla does not take in a name.</summary>
    public const string Kind = "GET /kind/{kind:regex(^(book¦film)$)}";

    public const string Unmatched = "GET (unmatched)";

    /// <summary>The health check's name as registered, and as MaestroSla receives it.</summary>
    public const string HealthCheckName = "db|primary";
    public const string HealthComponent = "db¦primary";

    private ShopApp(WebApplication app, ClientMetrics metrics, Uri address)
    {
        App = app;
        Metrics = metrics;
        Client = new HttpClient { BaseAddress = address };
    }

    public WebApplication App { get; }
    public HttpClient Client { get; }

    /// <summary>The client's counters, listened to from before the app started.</summary>
    public ClientMetrics Metrics { get; }

    /// <summary>One request the test makes: the endpoint it lands on, how long the app waits in it, what it answers.</summary>
    public sealed record Planned(string Endpoint, HttpMethod Method, string Path, int DelayMs, int Status)
    {
        public bool IsError => Status >= 500;
    }

    public static async Task<ShopApp> StartAsync(Action<MaestroSlaOptions> configure, Action<IServiceCollection>? services = null, bool healthChecks = true)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMaestroSla(configure);
        if (healthChecks)
        {
            builder.Services.AddHealthChecks().AddCheck(HealthCheckName, () => HealthCheckResult.Healthy());
            builder.Services.Configure<HealthCheckPublisherOptions>(o =>
            {
                o.Delay = TimeSpan.Zero;
                o.Period = TimeSpan.FromSeconds(1);
            });
        }
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.UseMaestroSla();
        app.MapGet("/delay/{ms:int}", async (int ms) =>
        {
            await Task.Delay(ms);
            return Results.Ok();
        });
        app.MapGet("/fail/{ms:int}", async (int ms) =>
        {
            await Task.Delay(ms);
            return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
        });
        app.MapPost("/orders", IResult () => throw new InvalidOperationException("the order service failed (on purpose, in a test)"));
        app.MapGet("/kind/{kind:regex(^(book|film)$)}", (string kind) => kind);
        var metrics = new ClientMetrics(app.Services);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ShopApp(app, metrics, new Uri(address));
    }

    /// <summary>About 300 requests over five endpoints: known delays from 0 to 60 ms, 503s, exceptions, 404s.</summary>
    public static List<Planned> Plan()
    {
        var plan = new List<Planned>();
        for (var i = 0; i < 240; i++)
        {
            var ms = i * 7 % 61;
            plan.Add(new(Delay, HttpMethod.Get, $"/delay/{ms}", ms, 200));
        }
        for (var i = 0; i < 20; i++)
        {
            plan.Add(new(Fail, HttpMethod.Get, $"/fail/{5 + i}", 5 + i, 503));
        }
        for (var i = 0; i < 5; i++)
        {
            plan.Add(new(Throws, HttpMethod.Post, "/orders", 0, 500));
            plan.Add(new(Unmatched, HttpMethod.Get, $"/nowhere/{i}", 0, 404));
        }
        for (var i = 0; i < 10; i++)
        {
            plan.Add(new(Kind, HttpMethod.Get, i % 2 == 0 ? "/kind/book" : "/kind/film", 0, 200));
        }
        // Interleaved, so that every batch holds a mix.
        var random = new Random(13);
        return [.. plan.OrderBy(_ => random.Next())];
    }

    public async Task SendAsync(IReadOnlyList<Planned> plan)
    {
        await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (request, ct) =>
        {
            using var message = new HttpRequestMessage(request.Method, request.Path);
            using var response = await Client.SendAsync(message, ct);
            ((int)response.StatusCode).ShouldBe(request.Status, request.Path);
        });
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
        Metrics.Dispose();
    }

    /// <summary>Requests as they went over the wire: version-1 messages of type request.</summary>
    public sealed record WireRequest(string Service, string Endpoint, long Micros, int Status)
    {
        public bool IsError => Status >= 500;
    }

    /// <summary>Reads the messages of one JSON message (Kafka) or a JSON array of them (an HTTP batch).</summary>
    public static void ReadWire(ReadOnlySpan<byte> json, List<WireRequest> requests, List<JsonElement> others)
    {
        using var document = JsonDocument.Parse(json.ToArray());
        var root = document.RootElement;
        List<JsonElement> messages = root.ValueKind == JsonValueKind.Array ? root.EnumerateArray().ToList() : [root];
        foreach (var message in messages)
        {
            message.GetProperty("v").GetInt32().ShouldBe(1);
            if (message.GetProperty("type").GetString() == "request")
            {
                requests.Add(new WireRequest(
                    message.GetProperty("service").GetString()!,
                    message.GetProperty("endpoint").GetString()!,
                    // As MaestroSla's decoder reads it.
                    (long)Math.Round(message.GetProperty("latencyMs").GetDouble() * 1000),
                    message.GetProperty("status").GetInt32()));
            }
            else
            {
                others.Add(message.Clone());
            }
        }
    }

    /// <summary>
    /// What the client recorded against what the app was asked to do: the same requests per endpoint and status, and
    /// latencies no shorter than the delays asked for (the k-th shortest recorded is at least the k-th shortest delay,
    /// less two milliseconds: timers count whole milliseconds) and not much longer (the k-th shortest at most the k-th delay plus 2 s).
    /// </summary>
    public static void ShouldHaveRecorded(IReadOnlyList<Planned> plan, IReadOnlyList<WireRequest> recorded)
    {
        Summary(recorded.Select(r => (r.Endpoint, r.Status))).ShouldBe(Summary(plan.Select(p => (p.Endpoint, p.Status))));
        foreach (var endpoint in plan.Select(p => p.Endpoint).Distinct())
        {
            var delays = plan.Where(p => p.Endpoint == endpoint).Select(p => p.DelayMs * 1000L).Order().ToArray();
            var latencies = recorded.Where(r => r.Endpoint == endpoint).Select(r => r.Micros).Order().ToArray();
            for (var k = 0; k < delays.Length; k++)
            {
                latencies[k].ShouldBeGreaterThanOrEqualTo(delays[k] - 2_000, $"{endpoint}: the {k + 1}th shortest latency");
                latencies[k].ShouldBeLessThanOrEqualTo(delays[k] + 2_000_000, $"{endpoint}: the {k + 1}th shortest latency");
            }
        }
    }

    private static string[] Summary(IEnumerable<(string Endpoint, int Status)> requests) =>
        [.. requests.GroupBy(r => r).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key.Endpoint} {g.Key.Status}: {g.Count()}")).Order(StringComparer.Ordinal)];
}
