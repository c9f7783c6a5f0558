using JasperFx.Events.Daemon;
using MaestroSla.Api.Store;
using MaestroSla.Ingest.Http;
using MaestroSla.Local.Postgres;
using MaestroSla.Projections.Latency;
using Marten;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;
using Wolverine.Runtime.Agents;

namespace MaestroSla.Api.Hosting;

public static class StoreRegistration
{
    /// <summary>
    /// PostgreSQL from ConnectionStrings:Marten, or — when none is configured — a throwaway cluster started from
    /// the machine's PostgreSQL binaries with its data under Embedded:DataDirectory.
    /// </summary>
    public static async Task<IHostApplicationBuilder> AddMaestroStoreAsync(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(MaestroStore.ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var dataDirectory = Path.GetFullPath(builder.Configuration["Embedded:DataDirectory"] ?? Path.Combine(".data", "postgres"));
            if (builder.Configuration.GetValue("Embedded:StartEmpty", false) && Directory.Exists(dataDirectory))
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
            var postgres = await EmbeddedPostgres.StartAsync(dataDirectory);
            builder.Services.AddHostedService(_ => new EmbeddedPostgresLifetime(postgres));
            connectionString = postgres.ConnectionString;
            builder.Configuration[$"ConnectionStrings:{MaestroStore.ConnectionStringName}"] = connectionString;
            Console.WriteLine($"No PostgreSQL configured: embedded cluster on port {postgres.Port}, data in {dataDirectory}");
        }

        var daemonMode = MaestroStore.ProjectionDaemon(builder.Configuration);
        var rollupShards = MaestroStore.RollupShards(builder.Configuration);
        var marten = builder.Services.AddMarten(_ => MaestroStore.Configure(new StoreOptions(), connectionString, rollupShards))
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup();
        // After the schema is applied and before any daemon or Wolverine agent starts a rollup shard.
        builder.Services.AddHostedService<RollupShardStartupCheck>();
        switch (daemonMode)
        {
            case DaemonMode.HotCold:
                // Every node started with HotCold takes a share of the projections (the latency rollup shards and
                // uptime_signals): Wolverine's leader spreads them evenly over the live nodes and moves a dead node's
                // share to the others. Wolverine then runs Marten's daemon itself (it refuses AddAsyncDaemon beside it).
                marten.IntegrateWithWolverine(integration => integration.UseWolverineManagedEventSubscriptionDistribution = true);
                break;
            case DaemonMode.Solo:
                // Every projection on this node, no coordination: one node, or a tool that owns its database.
                marten.AddAsyncDaemon(DaemonMode.Solo).IntegrateWithWolverine();
                break;
            default:
                // API-only replicas: no projections here. The agent family stays known to this node so that, should it
                // become Wolverine's leader, it still assigns the projections to the projection nodes — but it offers
                // no capability to run them itself (ProjectionNodeCapability).
                marten.IntegrateWithWolverine(integration => integration.UseWolverineManagedEventSubscriptionDistribution = true);
                builder.Services.AddSingleton<IAgentFamily, ProjectionNodeCapability.LeaderOnly>();
                break;
        }

        builder.Host.UseWolverine(options =>
        {
            // Explicit, so that hosts started from tests (whose entry assembly is the test runner) find the same handlers.
            options.ApplicationAssembly = typeof(MaestroApp).Assembly;
            options.Discovery.IncludeAssembly(typeof(TelemetryHttpEndpoints).Assembly);
            options.Policies.AutoApplyTransactions();
            // Wolverine:Durability:* (e.g. StaleNodeTimeout, HealthCheckPollingTime, CheckAssignmentPeriod) decide how
            // soon a dead node's projections move to the survivors.
            builder.Configuration.GetSection("Wolverine:Durability").Bind(options.Durability);
        });
        builder.Services.AddWolverineHttp();
        return builder;
    }


    private sealed class RollupShardStartupCheck(IDocumentStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => RollupShardCheck.EnsureMatchesAsync(store, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Stops the embedded cluster with the host (its data directory stays for the next run).</summary>
    private sealed class EmbeddedPostgresLifetime(EmbeddedPostgres postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken) => await postgres.DisposeAsync();
    }
}
