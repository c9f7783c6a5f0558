using Marten;
using Npgsql;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Backup.Identity;

/// <summary>
/// Which event store this is, like PostgreSQL's system identifier: a random id made the first time the store is
/// asked (its schema is created with the table), and a timeline that a restore advances, so a restored copy is the
/// same store on a new timeline. Backups record both and chain only within one store and timeline.
/// </summary>
/// <param name="TimelineId">Random per timeline: two copies restored from one catalog may both be timeline 2, but never share this.</param>
/// <param name="RestoredFrom">The backup this timeline was restored from (null for timeline 1).</param>
/// <param name="RestoredTo">The point in time of that restore (null: the end of the backup).</param>
public sealed record StoreIdentity(
    string StoreId,
    int Timeline,
    string TimelineId,
    DateTimeOffset CreatedAt,
    int? ParentTimeline,
    string? RestoredFrom,
    DateTimeOffset? RestoredTo)
{
    public const string TableName = "backup_store_identity";

    public override string ToString() => $"store {StoreId} timeline {Timeline}";

    /// <summary>One row (id = 1). Part of the backup module's store configuration; created on demand too (stores configured without it).</summary>
    public static Table Table(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<int>("id").AsPrimaryKey();
        table.AddColumn("store_id", "uuid").NotNull();
        table.AddColumn<int>("timeline").NotNull();
        table.AddColumn("timeline_id", "uuid").NotNull();
        table.AddColumn("created_at", "timestamptz").NotNull();
        table.AddColumn("parent_timeline", "integer");
        table.AddColumn("restored_from", "text");
        table.AddColumn("restored_to", "timestamptz");
        return table;
    }


    public static async Task<StoreIdentity> GetOrCreateAsync(IDocumentStore store, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        return await GetOrCreateAsync(connection, store.Options.DatabaseSchemaName, ct);
    }

    /// <summary>The store's identity; made (timeline 1) if it has none yet. Concurrent callers get the same one.</summary>
    public static async Task<StoreIdentity> GetOrCreateAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        try
        {
            return await InsertOrReadAsync(connection, schema, ct);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            await EnsureTableAsync(connection, schema, ct);
            return await InsertOrReadAsync(connection, schema, ct);
        }
    }

    /// <summary>For stores configured without the backup module (a restore target, a benchmark's store): the same table, if missing.</summary>
    public static async Task EnsureTableAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        // Weasel's ApplyChangesAsync would also do, but prints its DDL to the console.
        var ddl = new StringWriter();
        Table(schema).WriteCreateStatement(new PostgresqlMigrator { TableCreation = CreationStyle.CreateIfNotExists }, ddl);
        await using var command = new NpgsqlCommand($"create schema if not exists {schema};\n{ddl}", connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Gives a restored copy its identity: the source's store on a new timeline (in the restore's transaction).</summary>
    internal static async Task WriteAsync(NpgsqlConnection connection, string schema, StoreIdentity identity, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             insert into {schema}.{TableName} (id, store_id, timeline, timeline_id, created_at, parent_timeline, restored_from, restored_to)
             values (1, $1, $2, $3, $4, $5, $6, $7)
             on conflict (id) do update set store_id = excluded.store_id, timeline = excluded.timeline, timeline_id = excluded.timeline_id,
                 created_at = excluded.created_at, parent_timeline = excluded.parent_timeline, restored_from = excluded.restored_from,
                 restored_to = excluded.restored_to
             """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(identity.StoreId) });
        command.Parameters.Add(new NpgsqlParameter { Value = identity.Timeline });
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(identity.TimelineId) });
        command.Parameters.Add(new NpgsqlParameter { Value = identity.CreatedAt.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)identity.ParentTimeline ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)identity.RestoredFrom ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)identity.RestoredTo?.ToUniversalTime() ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<StoreIdentity> InsertOrReadAsync(NpgsqlConnection connection, string schema, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection);
        var insert = new NpgsqlBatchCommand(
            $"insert into {schema}.{TableName} (id, store_id, timeline, timeline_id, created_at) values (1, $1, 1, $2, now()) on conflict (id) do nothing");
        insert.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
        insert.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            $"select store_id, timeline, timeline_id, created_at, parent_timeline, restored_from, restored_to from {schema}.{TableName} where id = 1"));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new StoreIdentity(
            reader.GetGuid(0).ToString(),
            reader.GetInt32(1),
            reader.GetGuid(2).ToString(),
            reader.GetFieldValue<DateTimeOffset>(3),
            reader.IsDBNull(4) ? null : reader.GetInt32(4),
            reader.IsDBNull(5) ? null : reader.GetString(5),
            reader.IsDBNull(6) ? null : reader.GetFieldValue<DateTimeOffset>(6));
    }

    /// <summary>True when <paramref name="manifest"/> was made of this store on this timeline.</summary>
    public bool Made(Format.BackupManifest manifest) =>
        string.Equals(manifest.StoreId, StoreId, StringComparison.OrdinalIgnoreCase)
        && string.Equals(manifest.TimelineId, TimelineId, StringComparison.OrdinalIgnoreCase);

    public bool SameStore(Format.BackupManifest manifest) => string.Equals(manifest.StoreId, StoreId, StringComparison.OrdinalIgnoreCase);
}

public static class StoreIdentityConfiguration
{
    /// <summary>The identity table is part of every store the backup module configures.</summary>
    public static StoreOptions ConfigureStoreIdentity(this StoreOptions options)
    {
        if (!options.Storage.ExtendedSchemaObjects.Any(o => o.Identifier.Name == StoreIdentity.TableName))
        {
            options.Storage.ExtendedSchemaObjects.Add(StoreIdentity.Table(options.DatabaseSchemaName));
        }
        return options;
    }
}
