using MaestroSla.EventStore;
using MaestroSla.Ingest.Storage;
using Marten;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace MaestroSla.Api.Operations;

/// <summary>
/// The tables ingest writes to exist: a reachable server with an empty or wrong database (a fresh failover target,
/// a mistyped database name) would otherwise look ready and fail every batch. An exception (server away) is
/// reported by the health check service itself as this check's failure.
/// </summary>
public sealed class EventStoreSchemaHealthCheck(IDocumentStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var events = EventStoreQueries.EventsTable(store.Options);
        var offsets = $"{store.Options.DatabaseSchemaName}.{StoredKafkaOffsets.TableName}";
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "select to_regclass($1) is not null, to_regclass($2) is not null";
        command.Parameters.Add(new NpgsqlParameter { Value = events });
        command.Parameters.Add(new NpgsqlParameter { Value = offsets });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var missing = new List<string>(2);
        if (!reader.GetBoolean(0))
        {
            missing.Add(events);
        }
        if (!reader.GetBoolean(1))
        {
            missing.Add(offsets);
        }
        return missing.Count == 0
            ? HealthCheckResult.Healthy($"{events} and {offsets} exist")
            : new HealthCheckResult(context.Registration.FailureStatus, $"schema not applied: {string.Join(", ", missing)} missing");
    }
}
