using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaestroSla.Tests.Alerts;

/// <summary>A webhook endpoint on a loopback port that records every POST and can refuse the first few.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _failuresLeft;

    private WebhookReceiver(WebApplication app, Uri url, int failFirst)
    {
        _app = app;
        Url = url;
        _failuresLeft = failFirst;
    }

    public Uri Url { get; }

    /// <summary>Every request waits for this before it is answered; completed unless the test wants to hold them.</summary>
    public TaskCompletionSource Hold { get; set; } = CompletedHold();

    /// <summary>Every attempt, refused ones included, in arrival order.</summary>
    public ConcurrentQueue<JsonElement> Attempts { get; } = new();

    /// <summary>The bodies that were answered 200.</summary>
    public ConcurrentQueue<JsonElement> Delivered { get; } = new();

    public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            var json = body.RootElement.Clone();
            receiver!.Attempts.Enqueue(json);
            await receiver.Hold.Task;
            if (Interlocked.Decrement(ref receiver._failuresLeft) >= 0)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }
            receiver.Delivered.Enqueue(json);
            return Results.Ok();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new WebhookReceiver(app, new Uri(new Uri(address), "/hook"), failFirst);
        return receiver;
    }

    private static TaskCompletionSource CompletedHold()
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hold.SetResult();
        return hold;
    }

    public async Task<bool> WaitForAttemptsAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Attempts.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return Attempts.Count >= count;
    }

    public async Task<bool> WaitForDeliveredAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Delivered.Count < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return Delivered.Count >= count;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
