using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MaestroSla.Client;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Shouldly;

namespace MaestroSla.Tests.Client;

/// <summary>The client never makes the app wait for MaestroSla, and accounts for every message it could not send.</summary>
public sealed class ClientBufferTests
{
    [Fact]
    public async Task when_maestrosla_never_answers_the_app_serves_at_full_speed_and_the_client_counts_every_message_it_drops()
    {
        // A MaestroSla that accepts connections and never answers: the client's first batch hangs.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        using var stop = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                held.Add(await silent.AcceptTcpClientAsync(stop.Token));
            }
        });
        const int capacity = 20;
        const int batch = 5;
        await using var shop = await ShopApp.StartAsync(o =>
        {
            o.Service = "shop-buffer";
            o.Transport = MaestroSlaTransport.Http;
            o.Http.Endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}");
            o.BufferCapacity = capacity;
            o.Http.MaxBatchMessages = batch;
            o.Http.AttemptTimeout = TimeSpan.FromMinutes(5);
            o.FlushInterval = TimeSpan.Zero;
        }, s => s.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(3)), healthChecks: false);

        const int requests = 200;
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < requests; i++)
        {
            var clock = Stopwatch.StartNew();
            (await shop.Client.GetAsync("/delay/0")).StatusCode.ShouldBe(HttpStatusCode.OK);
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
        }
        // Waiting on a full buffer or a hung send would take the attempt timeout (minutes); serving takes milliseconds.
        slowest.ShouldBeLessThan(TimeSpan.FromSeconds(2));

        // Each request was either taken into the buffer or dropped at once, and at most the buffer and the batch in
        // flight were taken. (The app records a request just after its response went out: the last one may lag.)
        var metrics = shop.Metrics;
        await Eventually.HoldsAsync(() => metrics.Recorded + metrics.Dropped(MaestroSlaMetrics.Reasons.BufferFull) == requests,
            "every request recorded or dropped", TimeSpan.FromSeconds(10));
        metrics.Recorded.ShouldBeLessThanOrEqualTo(capacity + batch, metrics.ToString());
        metrics.Sent.ShouldBe(0);

        // Stopping gives up after the shutdown timeout, counting what it could not send.
        var stopping = Stopwatch.StartNew();
        await shop.App.StopAsync();
        stopping.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(30));
        metrics.Dropped(MaestroSlaMetrics.Reasons.SendFailed).ShouldBe(metrics.Recorded, metrics.ToString());
        metrics.Sent.ShouldBe(0);

        await stop.CancelAsync();
        try
        {
            await accepting;
        }
        catch (OperationCanceledException)
        {
            // How the listener stops.
        }
        held.ForEach(c => c.Dispose());
    }
}
