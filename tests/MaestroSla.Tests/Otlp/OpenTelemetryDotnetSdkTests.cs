using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using MaestroSla.Contracts.Latency;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Shouldly;

namespace MaestroSla.Tests.Otlp;

/// <summary>
/// An ASP.NET Core app instrumented as apps are, with the OpenTelemetry .NET SDK (ASP.NET Core instrumentation, OTLP
/// exporter over HTTP/protobuf) pointed at MaestroSla: what MaestroSla stores must match, request for request, the
/// spans the SDK itself measured.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class OpenTelemetryDotnetSdkTests(ServicesFixture services)
{
    private static readonly double[] Percentiles = [50, 90, 95, 99, 99.9];

    [Fact]
    public async Task spans_of_an_app_instrumented_with_the_dotnet_sdk_give_its_exact_requests_errors_and_percentiles()
    {
        var started = DateTimeOffset.UtcNow;
        var from = new DateTimeOffset(started.UtcTicks - (started.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(-1);
        await using var http = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var maestro = await SecuredApp.StartAsync(http.ConnectionString);
        var measured = new ConcurrentQueue<(string Endpoint, long Micros, bool Error)>();
        var appPort = -1;

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("shop-dotnet"))
            .WithTracing(t => t
                // Only this app's requests: the instrumentation listens to every ASP.NET Core host in the process,
                // MaestroSla's own included (where the exporter's posts would make spans of their own).
                .AddAspNetCoreInstrumentation(o => o.Filter = context => context.Connection.LocalPort == appPort)
                .AddProcessor(new Measured(measured))
                .AddOtlpExporter(o =>
                {
                    o.Endpoint = new Uri(maestro.Address, "/v1/traces");
                    o.Protocol = OtlpExportProtocol.HttpProtobuf;
                    o.Headers = "X-Api-Key=" + SecuredApp.IngestKey;
                    // The first export also compiles MaestroSla's endpoint (Wolverine generates it on first use),
                    // which on a loaded test machine outlasts the exporter's default 10 s, after which it drops the batch.
                    o.TimeoutMilliseconds = 120_000;
                }));
        var app = builder.Build();
        app.MapGet("/orders/{id:int}", async (int id) =>
        {
            await Task.Delay(id % 7);
            return Results.Ok(id);
        });
        app.MapPost("/orders", () => Results.StatusCode(StatusCodes.Status500InternalServerError));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        appPort = new Uri(address).Port;
        using (var client = new HttpClient { BaseAddress = new Uri(address) })
        {
            for (var i = 0; i < 300; i++)
            {
                (await client.GetAsync($"/orders/{i}")).StatusCode.ShouldBe(HttpStatusCode.OK);
                if (i % 20 == 0)
                {
                    (await client.PostAsync("/orders", null)).StatusCode.ShouldBe(HttpStatusCode.InternalServerError);
                }
            }
        }
        // Stopping the app flushes the SDK's batch exporter.
        await app.StopAsync();
        await app.DisposeAsync();

        // The instrumentation hears every ASP.NET Core host of the process: a span of MaestroSla's own /v1/traces can
        // slip past the filter and be exported too. Only the app's endpoints are compared.
        string[] appEndpoints = ["GET /orders/{id:int}", "POST /orders"];
        var ofTheApp = measured.Where(m => appEndpoints.Contains(m.Endpoint)).ToList();
        ofTheApp.GroupBy(m => m.Endpoint).Select(g => $"{g.Key}: {g.Count()}").Order().ShouldBe(["GET /orders/{id:int}: 300", "POST /orders: 15"]);
        await Eventually.HoldsAsync(
            async () => (await http.StoredRequestEventsAsync()).Where(e => appEndpoints.Contains(e.Endpoint)).Sum(e => e.Minutes.Sum(m => m.Requests)) >= 315,
            "the app's 315 requests stored", TimeSpan.FromSeconds(60));
        var events = await http.StoredRequestEventsAsync();
        events.ShouldAllBe(e => e.Service == "shop-dotnet");
        foreach (var group in ofTheApp.GroupBy(m => m.Endpoint))
        {
            var minutes = events.Where(e => e.Service == "shop-dotnet" && e.Endpoint == group.Key).SelectMany(e => e.Minutes).ToList();
            minutes.Sum(m => m.Requests).ShouldBe(group.Count(), group.Key);
            minutes.Sum(m => m.Errors).ShouldBe(group.Count(m => m.Error), group.Key);
            var stored = new LatencyHistogram();
            foreach (var minute in minutes)
            {
                stored.AddEncoded(minute.Latency);
            }
            var exact = group.Select(m => m.Micros).Order().ToArray();
            foreach (var percentile in Percentiles)
            {
                // The rank the reports use (HdrHistogram's: the nearest rank, rounded half up).
                var expected = exact[Math.Max(1, (long)((percentile / 100 * exact.Length) + 0.5)) - 1];
                var actual = stored.GetValueAtPercentile(percentile);
                ((double)Math.Abs(actual - expected)).ShouldBeLessThanOrEqualTo(Math.Max(1, expected / 1000.0), $"{group.Key} P{percentile}");
            }
        }

        // The same through the API: each endpoint's SLA report holds exactly what the SDK measured, the service's
        // report everything stored.
        var to = DateTimeOffset.UtcNow.AddMinutes(2);
        var serviceReport = await ExactReport.GetAsync(maestro, "shop-dotnet", from, to);
        serviceReport.Requests.Total.ShouldBe((await http.StoredRequestEventsAsync()).Sum(e => e.Minutes.Sum(m => m.Requests)));
        serviceReport.Requests.Total.ShouldBeGreaterThanOrEqualTo(315);
        foreach (var group in ofTheApp.GroupBy(m => m.Endpoint))
        {
            var report = await ExactReport.GetAsync(maestro, "shop-dotnet", from, to, group.Key);
            ExactReport.ShouldMatch(report, group.Select(m => (m.Micros, m.Error)).ToList(), group.Key);
        }
    }

    /// <summary>What the SDK measured, span by span, as the exporter will send it (µs, rounded to the nearest).</summary>
    private sealed class Measured(ConcurrentQueue<(string, long, bool)> measured) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            // As the SDK's export processors do: spans the instrumentation filtered out are not exported.
            if (!data.Recorded)
            {
                return;
            }
            var route = data.GetTagItem("http.route") as string;
            var method = data.GetTagItem("http.request.method") as string;
            var status = data.GetTagItem("http.response.status_code") is int code ? code : 0;
            var nanos = data.Duration.Ticks * 100;
            measured.Enqueue(($"{method} {route}", (nanos + 500) / 1000, status >= 500 || data.Status == ActivityStatusCode.Error));
        }
    }
}
