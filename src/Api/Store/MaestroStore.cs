using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Daemon;
using MaestroSla.Api.Alerts;
using MaestroSla.Backup.Runs;
using MaestroSla.Ingest;
using MaestroSla.Projections;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Targets;
using Marten;
using Npgsql;
using Weasel.Core;

namespace MaestroSla.Api.Store;

/// <summary>
/// The one store configuration every host, every restore and every test uses: schema, event types, documents,
/// projections, and what ingest and backups keep beside the events. Each area adds its part (ConfigureXxx).
/// </summary>
public static class MaestroStore
{
    public const string Schema = "maestro";

    /// <summary>ConnectionStrings:Marten; empty → the local harness's embedded cluster.</summary>
    public const string ConnectionStringName = "Marten";

    /// <summary>Projections:RollupShards — how many projections share the latency rollups; the same on every node.</summary>
    public static int RollupShards(IConfiguration configuration) =>
        configuration.GetValue("Projections:RollupShards", LatencyRollupShards.DefaultCount);

    /// <summary>Projections:Daemon — HotCold (default: share the projections with the other HotCold nodes), Solo, Disabled.</summary>
    public static DaemonMode ProjectionDaemon(IConfiguration configuration)
    {
        var mode = configuration.GetValue("Projections:Daemon", DaemonMode.HotCold);
        return mode is DaemonMode.HotCold or DaemonMode.Solo or DaemonMode.Disabled
            ? mode
            : throw new InvalidOperationException($"Projections:Daemon must be HotCold, Solo or Disabled, not {mode}");
    }

    /// <param name="rollupShards">Projections:RollupShards — every node and every restore of one store must agree.</param>
    public static StoreOptions Configure(StoreOptions options, string connectionString, int rollupShards = LatencyRollupShards.DefaultCount)
    {
        options.Connection(WithAutoPrepare(WithLz4Toast(connectionString)));
        options.DatabaseSchemaName = Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString);

        // One stream per service, keyed by its name.
        options.Events.StreamIdentity = StreamIdentity.AsString;
        // Quick appends let instances append to the same service stream concurrently: the version is assigned in
        // the database instead of being read first and checked.
        options.Events.AppendMode = EventAppendMode.Quick;

        options.ConfigureIngest();
        options.ConfigureSlaProjections(rollupShards);
        options.ConfigureSlaTargets();
        options.ConfigureCustomerContracts();
        options.ConfigureSlaAlerts();
        options.ConfigureBackups();

        // Failures in projections must surface, not be skipped silently.
        options.Projections.Errors.SkipApplyErrors = false;
        options.Projections.Errors.SkipSerializationErrors = false;
        options.Projections.Errors.SkipUnknownEvents = false;
        // The daemon records each shard's status and the error that paused or stopped it on its progression row, so
        // replicas that run no daemon (API pods beside a projection worker) can report a halted projection too.
        options.Events.EnableExtendedProgressionTracking = true;

        // Marten does not replay commits. Ingest commits in a transaction of its own (events, offsets and dead letters
        // together), which the first error has already aborted: a replay could only fail again and hide PostgreSQL's
        // error (a full disk showed as "Transaction is already completed" instead of 53100). The consumer re-reads
        // from the stored offsets and HTTP clients resend; Wolverine handlers have their own retry policies.
        options.ConfigureWritePolly(_ => { });
        return options;
    }

    /// <summary>
    /// Events and rollup documents are JSON values of a few KB that PostgreSQL compresses as it stores them (TOAST),
    /// by default with pglz, which took over a third of PostgreSQL's CPU while rollups were rebuilt
    /// (docs/benchmarks.md). lz4 (PostgreSQL 14 and later, built in by the common distributions and images)
    /// compresses several times faster. A connection string that sets Options itself is left as it is, e.g.
    /// <c>Options=-c default_toast_compression=pglz</c> for a server built without lz4.
    /// </summary>
    public static string WithLz4Toast(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.Options))
        {
            builder.Options = "-c default_toast_compression=lz4";
        }
        return builder.ConnectionString;
    }

    /// <summary>
    /// Statements the service runs over and over (a report's dozen reads, ingest's appends, the daemon's loads) are
    /// prepared on each pooled connection after their second use, so PostgreSQL parses and plans them once per
    /// connection instead of on every call: a month report cost PostgreSQL ~2.2–3.3 ms of CPU without, ~1.8 ms with
    /// (docs/benchmarks.md). Marten leaves this to the connection string; so does this, when it names Max Auto Prepare
    /// itself (e.g. <c>Max Auto Prepare=0</c> behind a pooler that does not keep prepared statements).
    /// </summary>
    public static string WithAutoPrepare(string connectionString)
    {
        // NpgsqlConnectionStringBuilder reports every keyword as present; the generic builder only those given.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.ContainsKey("Max Auto Prepare") || given.ContainsKey("MaxAutoPrepare"))
        {
            return connectionString;
        }
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = AutoPreparedStatements, AutoPrepareMinUsages = 2 };
        return builder.ConnectionString;
    }

    /// <summary>
    /// Per pooled connection: more than the distinct statements a busy node runs (a report's ~12, ingest's ~10, the
    /// daemon's and Wolverine's), few enough that a pool of 100 connections holds little server memory.
    /// </summary>
    public const int AutoPreparedStatements = 64;
}
