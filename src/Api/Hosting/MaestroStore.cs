using JasperFx;
using JasperFx.Events;
using MaestroSla.Ingest;
using MaestroSla.Projections;
using MaestroSla.Projections.Alerts;
using Marten;
using Weasel.Core;

namespace MaestroSla.Api.Hosting;

/// <summary>The one store configuration every host and every test uses: schema, event types, documents, projections.</summary>
public static class MaestroStore
{
    public const string Schema = "maestro";

    public static StoreOptions Configure(StoreOptions options, string connectionString)
    {
        options.Connection(connectionString);
        options.DatabaseSchemaName = Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString);

        // One stream per service, keyed by its name.
        options.Events.StreamIdentity = StreamIdentity.AsString;
        // Quick appends let instances append to the same service stream concurrently: the version is assigned in
        // the database instead of being read first and checked.
        options.Events.AppendMode = EventAppendMode.Quick;

        options.ConfigureIngest();
        options.ConfigureSlaProjections();
        options.ConfigureSlaAlerts();

        // Failures in projections must surface, not be skipped silently.
        options.Projections.Errors.SkipApplyErrors = false;
        options.Projections.Errors.SkipSerializationErrors = false;
        options.Projections.Errors.SkipUnknownEvents = false;
        return options;
    }
}
