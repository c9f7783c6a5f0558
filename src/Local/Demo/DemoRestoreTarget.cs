using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace MaestroSla.Local.Demo;

/// <summary>
/// The demo's embedded PostgreSQL gets a new port on every run, so no restore target can be configured in advance:
/// the demo (any embedded cluster) registers one itself, an empty database in that cluster (Backup:RestoreTargets:demo-restore).
/// </summary>
public static class DemoRestoreTarget
{
    public const string Name = "demo-restore";
    public const string Database = "maestrosla_restore";

    /// <summary>Call after the store is added: the embedded cluster's connection string is known then.</summary>
    public static async Task AddDemoRestoreTargetAsync(this WebApplicationBuilder builder)
    {
        var live = builder.Configuration.GetConnectionString("Marten")
            ?? throw new InvalidOperationException("the demo's store has no connection string yet");
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(live) { Database = "postgres" }.ConnectionString))
        {
            await connection.OpenAsync();
            await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection) { Parameters = { new() { Value = Database } } };
            if (await exists.ExecuteScalarAsync() is null)
            {
                await using var create = new NpgsqlCommand($"create database {Database}", connection);
                await create.ExecuteNonQueryAsync();
            }
        }
        builder.Configuration[$"Backup:RestoreTargets:{Name}"] = new NpgsqlConnectionStringBuilder(live) { Database = Database }.ConnectionString;
    }
}
