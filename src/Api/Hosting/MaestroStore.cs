using JasperFx;
using JasperFx.Events;
using MaestroSla.Ingest;
using MaestroSla.Projections;
using MaestroSla.Projections.Alerts;
using MaestroSla.Projections.Latency;
using Marten;
using Npgsql;
using Weasel.Core;

namespace MaestroSla.Api.Hosting;

/// <summary>The one store configuration every host and every test uses: schema, event types, documents, projections.</summary>
public static class MaestroStore
{
    public const string Schema = "maestro";

    /// <param name="rollupShards">Projections:RollupShards — every node and every restore of one store must agree.</param>
    public static StoreOptions Configure(StoreOptions options, string connectionString, int rollupShards = LatencyRollupShards.DefaultCount)
    {
        options.Connection(WithLz4Toast(connectionString));
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
        options.ConfigureSlaAlerts();

        // Failures in projections must surface, not be skipped silently.
        options.Projections.Errors.SkipApplyErrors = false;
        options.Projections.Errors.SkipSerializationErrors = false;
        options.Projections.Errors.SkipUnknownEvents = false;
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
}
