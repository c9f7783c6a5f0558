using MaestroSla.Api.Hosting;
using MaestroSla.Api.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>The real MaestroSla service on a loopback port, composed exactly as Program composes it.</summary>
public sealed class RunningApp : IAsyncDisposable
{
    /// <summary>The admin key configured by default (as Security:ApiKeys:0) and sent by <see cref="Client"/>.</summary>
    public const string AdminKey = "maestrosla-tests-admin-key";

    private RunningApp(WebApplication app, Uri address, string? apiKey)
    {
        App = app;
        Address = address;
        Client = CreateClient(apiKey);
    }

    public WebApplication App { get; }
    public Uri Address { get; }

    /// <summary>Sends <see cref="AdminKey"/> unless the app was started without it.</summary>
    public HttpClient Client { get; }

    /// <summary>A client sending this key (none: no key at all).</summary>
    public HttpClient CreateClient(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = Address };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add(ApiKeyAuthentication.HeaderName, apiKey);
        }
        return client;
    }

    /// <param name="withAdminKey">
    /// False: no key is configured by RunningApp (the API runs open unless <paramref name="extra"/> configures keys).
    /// True: <see cref="AdminKey"/> is Security:ApiKeys:0, so further keys in <paramref name="extra"/> start at index 1.
    /// </param>
    public static async Task<RunningApp> StartAsync(string connectionString, IDictionary<string, string?>? extra = null, bool withAdminKey = true)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Marten"] = connectionString,
            ["Kafka:ConsumerEnabled"] = "false",
            ["urls"] = "http://127.0.0.1:0",
        };
        if (withAdminKey)
        {
            settings["Security:ApiKeys:0:Name"] = "tests-admin";
            settings["Security:ApiKeys:0:KeyHash"] = ApiKeyHash.Of(AdminKey);
            settings["Security:ApiKeys:0:Roles:0"] = ApiRoles.Admin;
        }
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var app = await MaestroApp.BuildAsync([], settings);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            // Tests of bad configuration expect the failure; what did start must not outlive them.
            await app.DisposeAsync();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningApp(app, new Uri(address), withAdminKey ? AdminKey : null);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
