using JasperFx;
using JasperFx.CodeGeneration;
using MaestroSla.Api.Alerts;
using MaestroSla.Api.Backups;
using MaestroSla.Api.CustomerContracts;
using MaestroSla.Api.Dashboard;
using MaestroSla.Api.OpenApi;
using MaestroSla.Api.Operations;
using MaestroSla.Api.Reports;
using MaestroSla.Api.Security;
using MaestroSla.Api.Store;
using MaestroSla.Ingest;
using MaestroSla.Local.Demo;
using MaestroSla.Local.Kafka;
using MaestroSla.Sla.Targets;
using Wolverine.Http;

namespace MaestroSla.Api.Hosting;

/// <summary>Builds the MaestroSla service: the same composition for Program, the demo and the integration tests.</summary>
public static class MaestroApp
{
    public static async Task<WebApplication> BuildAsync(string[] args, IEnumerable<KeyValuePair<string, string?>>? settings = null)
    {
        // appsettings.json (and the rest of the content) sits next to the assembly, wherever the process was started
        // from: `dotnet /opt/maestrosla/MaestroSla.Api.dll` run from another folder must not fall back to defaults.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        // `demo` runs README command (a): a synthetic month through Kafka into a fresh embedded store.
        if (args.Contains("demo", StringComparer.OrdinalIgnoreCase))
        {
            builder.Configuration["Demo:Enabled"] = "true";
            // Its own throwaway folder, emptied at each start, so the demo never touches the regular embedded data.
            builder.Configuration["Embedded:DataDirectory"] = builder.Configuration["Demo:DataDirectory"] ?? Path.Combine(".data", "demo");
            builder.Configuration["Embedded:StartEmpty"] = "true";
        }

        // Wolverine's HTTP endpoints and message handlers run from code generated ahead of time and compiled into this
        // assembly (Internal/Generated), never from code compiled at run time: with the Roslyn compiler in the process
        // (the first request compiles every endpoint) ingest at 10,000 series peaked 140 MiB higher. After changing an
        // endpoint's or a handler's signature, `dotnet run --project src/Api -- codegen write` rewrites the folder, and
        // GeneratedCodeTests fails until it has been.
        builder.Services.CritterStackDefaults(x =>
        {
            x.Production.GeneratedCodeMode = TypeLoadMode.Static;
            x.Development.GeneratedCodeMode = TypeLoadMode.Static;
            // `codegen write` from `dotnet run`: into src/Api/Internal/Generated, not the bin folder (the content root).
            x.AutoResolveProjectRoot = true;
        });
        builder.AddMaestroSecurity();
        builder.AddMaestroReports();
        builder.AddMaestroReportCache();
        builder.AddMaestroOpenApi();
        var embeddedStore = string.IsNullOrWhiteSpace(builder.Configuration.GetConnectionString(MaestroStore.ConnectionStringName));
        await builder.AddMaestroStoreAsync();
        if (embeddedStore)
        {
            // The demo's (and any embedded) cluster restores into a second database of its own: demo-restore.
            await builder.AddDemoRestoreTargetAsync();
        }
        builder.AddMaestroIngest();
        // Without Kafka:BootstrapServers ingest reads from librdkafka's mock cluster, started in this process.
        builder.Services.AddSingleton<Func<IEmbeddedKafka>>(() => MockKafkaCluster.Start());
        builder.AddMaestroBackups();
        builder.AddMaestroOperations();
        builder.Services.AddOptions<SlaOptions>()
            .Bind(builder.Configuration.GetSection(SlaOptions.Section))
            .Validate(o => o.Defaults.Problem() is null, "Sla:Defaults are not valid targets")
            .Validate(o => o.Services.Values.All(t => t.Problem() is null), "Some Sla:Services targets are not valid")
            .Validate(o => o.HealthFailureThreshold >= 1, "Sla:HealthFailureThreshold must be at least 1")
            .ValidateOnStart();
        builder.AddSlaAlerts();
        builder.AddMaestroContracts();
        if (builder.Configuration.GetValue("Demo:Enabled", false))
        {
            builder.Services.AddHostedService<DemoRunner>();
        }

        var app = builder.Build();
        app.UseMaestroDashboard();
        app.UseMaestroSecurity();
        app.MapMaestroOperations();
        app.MapMaestroOpenApi();
        app.MapWolverineEndpoints(options =>
        {
            // Every /api endpoint gets its role policy from ApiAccess (GET: read, writes: admin, ingest: ingest).
            options.ConfigureEndpoints(ApiAccess.Apply);
            // ?asOf=yesterday is a 400 with problem details, not a silently different report.
            options.RejectUnparseableQueryValues = true;
        });
        return app;
    }
}
