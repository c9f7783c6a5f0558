using MaestroSla.Api.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>The real MaestroSla service on a loopback port, composed exactly as Program composes it.</summary>
public sealed class RunningApp : IAsyncDisposable
{
    private RunningApp(WebApplication app, Uri address)
    {
        App = app;
        Client = new HttpClient { BaseAddress = address };
    }

    public WebApplication App { get; }
    public HttpClient Client { get; }

    public static async Task<RunningApp> StartAsync(string connectionString, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marten"] = connectionString,
            ["Kafka:ConsumerEnabled"] = "false",
            ["urls"] = "http://127.0.0.1:0",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var app = await MaestroApp.BuildAsync([], settings);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningApp(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
