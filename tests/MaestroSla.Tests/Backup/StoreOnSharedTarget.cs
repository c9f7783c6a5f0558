using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Reports;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// The real app on a database of its own, fed over HTTP, backing up to a folder other stores may share: what a
/// user gets running the demo twice, or a second service on the same backup folder.
/// </summary>
public sealed class StoreOnSharedTarget : IAsyncDisposable
{
    private readonly GeneratedTelemetry _data;
    private int _posted;

    private StoreOnSharedTarget(string connectionString, RunningApp app, GeneratedTelemetry data)
    {
        ConnectionString = connectionString;
        App = app;
        _data = data;
    }

    public string ConnectionString { get; }
    public RunningApp App { get; }
    public HttpClient Client => App.Client;
    public IDocumentStore Store => App.App.Services.GetRequiredService<IDocumentStore>();

    /// <param name="connectionString">An existing database (a restored copy), or null for a new empty one.</param>
    public static async Task<StoreOnSharedTarget> StartAsync(
        ServicesFixture services, string folder, int seed, string? connectionString = null, IDictionary<string, string?>? settings = null)
    {
        connectionString ??= await services.CreateDatabaseAsync();
        var all = new Dictionary<string, string?> { ["Backup:Folder"] = folder, ["Backup:SegmentEvents"] = "40" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var app = await RunningApp.StartAsync(connectionString, all);
        return new StoreOnSharedTarget(connectionString, app, GeneratedTelemetry.AroundLastMonthBoundary("Europe/Berlin", seed));
    }

    /// <summary>The next <paramref name="requests"/> generated requests (the first call also posts downtime and checks), projected.</summary>
    public async Task IngestAsync(int requests)
    {
        if (_posted == 0)
        {
            await _data.PostAsync(Client, requests);
        }
        else
        {
            await GeneratedTelemetry.PostRequestsAsync(Client, _data.Requests.Skip(_posted).Take(requests).ToList());
        }
        _posted += requests;
        await Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
    }

    public async Task<BackupRun> BackupAsync(BackupType type)
    {
        var response = await Client.PostAsync($"/api/admin/backups?type={type.ToString().ToLowerInvariant()}", null);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var run = JsonSerializer.Deserialize<BackupRun>(body, BackupScenario.Json)!;
        run.Status.ShouldBe(RunStatus.Succeeded);
        return run;
    }

    public async Task<(HttpStatusCode Status, string Body)> PostRestoreAsync(string? backupId, string target, bool allowOtherStore = false, DateTimeOffset? pointInTime = null)
    {
        var response = await Client.PostAsJsonAsync("/api/admin/restores", new { backupId, pointInTime, targetConnectionString = target, allowOtherStore });
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<RestoreRun> RestoreAsync(string? backupId, string target, bool allowOtherStore = false, DateTimeOffset? pointInTime = null)
    {
        var (status, body) = await PostRestoreAsync(backupId, target, allowOtherStore, pointInTime);
        status.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<RestoreRun>(body, BackupScenario.Json)!;
    }

    public Task<long> EventsAsync() => BackupScenario.CountAsync(ConnectionString, "select count(*) from maestro.mt_events");

    public ValueTask DisposeAsync() => App.DisposeAsync();
}
