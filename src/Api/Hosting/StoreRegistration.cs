using JasperFx.Events.Daemon;
using MaestroSla.Api.Embedded;
using MaestroSla.Ingest.Http;
using Marten;
using Wolverine;
using Wolverine.Http;
using Wolverine.Marten;

namespace MaestroSla.Api.Hosting;

public static class StoreRegistration
{
    public const string ConnectionStringName = "Marten";

    /// <summary>
    /// PostgreSQL from ConnectionStrings:Marten, or — when none is configured — a throwaway cluster started from
    /// the machine's PostgreSQL binaries with its data under Embedded:DataDirectory.
    /// </summary>
    public static async Task<IHostApplicationBuilder> AddMaestroStoreAsync(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
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
            builder.Configuration[$"ConnectionStrings:{ConnectionStringName}"] = connectionString;
            Console.WriteLine($"No PostgreSQL configured: embedded cluster on port {postgres.Port}, data in {dataDirectory}");
        }

        var daemonMode = builder.Configuration.GetValue("Projections:Daemon", DaemonMode.HotCold);
        builder.Services.AddMarten(_ => MaestroStore.Configure(new StoreOptions(), connectionString))
            .UseLightweightSessions()
            .ApplyAllDatabaseChangesOnStartup()
            .AddAsyncDaemon(daemonMode)
            .IntegrateWithWolverine();

        builder.Host.UseWolverine(options =>
        {
            // Explicit, so that hosts started from tests (whose entry assembly is the test runner) find the same handlers.
            options.ApplicationAssembly = typeof(MaestroApp).Assembly;
            options.Discovery.IncludeAssembly(typeof(TelemetryHttpEndpoints).Assembly);
            options.Policies.AutoApplyTransactions();
        });
        builder.Services.AddWolverineHttp();
        return builder;
    }

    /// <summary>Stops the embedded cluster with the host (its data directory stays for the next run).</summary>
    private sealed class EmbeddedPostgresLifetime(EmbeddedPostgres postgres) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public async Task StopAsync(CancellationToken cancellationToken) => await postgres.DisposeAsync();
    }
}
