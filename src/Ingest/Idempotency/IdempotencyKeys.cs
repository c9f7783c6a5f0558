using System.Security.Cryptography;
using Marten;
using Microsoft.AspNetCore.Http;
using Npgsql;
using NpgsqlTypes;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace MaestroSla.Ingest.Idempotency;

/// <summary>The first answer to a batch sent with an Idempotency-Key, replayed to every retry of it.</summary>
public sealed record StoredAnswer(byte[] RequestHash, int Status, string ContentType, byte[] Body);

/// <summary>
/// One key to record in the transaction that stores its batch: who sent it (<paramref name="Scope"/>, the API key's
/// name, so two clients cannot collide), the key, a hash of the request, and the answer it got.
/// </summary>
public sealed record IdempotencyRecord(string Scope, string Key, byte[] RequestHash, int Status, string ContentType, byte[] Body);

/// <summary>Some keys of a group commit were stored by another transaction first: nothing of that transaction was stored.</summary>
public sealed class IdempotencyKeysTakenException(IReadOnlyCollection<(string Scope, string Key)> taken)
    : Exception($"{taken.Count} idempotency key(s) were stored by another request first; the transaction was rolled back.")
{
    public IReadOnlyCollection<(string Scope, string Key)> Taken { get; } = taken;
}

/// <summary>
/// The table of Idempotency-Keys of stored HTTP batches. A key's row is inserted in the same transaction as its
/// batch's events, so a key is there exactly when its batch is: a retry after a lost answer finds it and gets the
/// first answer, and two concurrent sends of one key cannot both commit (the second waits on the first's unique key
/// and then finds it taken).
/// </summary>
public static class IdempotencyKeys
{
    public const string TableName = "ingest_idempotency_keys";
    public const string HeaderName = "Idempotency-Key";

    /// <summary>Longest key accepted; UUIDs and ULIDs fit many times over.</summary>
    public const int MaxKeyLength = 255;

    public static Table Table(string schema)
    {
        var table = new Table(new PostgresqlObjectName(schema, TableName, SchemaUtils.IdentifierUsage.General));
        table.AddColumn<string>("scope").AsPrimaryKey();
        table.AddColumn<string>("key").AsPrimaryKey();
        table.AddColumn("request_hash", "bytea").NotNull();
        table.AddColumn<int>("status").NotNull();
        table.AddColumn<string>("content_type").NotNull();
        table.AddColumn("body", "bytea").NotNull();
        table.AddColumn("created_at", "timestamptz").NotNull();
        table.AddColumn("expires_at", "timestamptz").NotNull();
        table.Indexes.Add(new IndexDefinition("idx_ingest_idempotency_keys_expires_at") { Columns = ["expires_at"] });
        return table;
    }

    /// <summary>
    /// The request's key, or null when it sent none; a problem when the header is there but unusable (several
    /// values, empty, too long, or not visible ASCII as the IETF draft asks).
    /// </summary>
    public static string? Read(HttpRequest request, out string? problem)
    {
        problem = null;
        var values = request.Headers[HeaderName];
        if (values.Count == 0)
        {
            return null;
        }
        if (values.Count > 1)
        {
            problem = $"header '{HeaderName}' must be sent once";
            return null;
        }
        var key = values[0]!.Trim().Trim('"');
        if (key.Length is 0 or > MaxKeyLength)
        {
            problem = $"header '{HeaderName}' must hold 1 to {MaxKeyLength} characters";
            return null;
        }
        foreach (var c in key)
        {
            if (c is < '!' or > '~')
            {
                problem = $"header '{HeaderName}' must hold visible ASCII characters only";
                return null;
            }
        }
        return key;
    }

    /// <summary>What makes two sends "the same batch": the path and the body as decoded (gzip removed).</summary>
    public static byte[] HashOf(PathString path, ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(path.Value ?? ""));
        hash.AppendData([0]);
        hash.AppendData(body);
        return hash.GetHashAndReset();
    }

    public static async Task<StoredAnswer?> FindAsync(IDocumentStore store, string scope, string key, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            $"select request_hash, status, content_type, body from {store.Options.DatabaseSchemaName}.{TableName} where scope = $1 and key = $2 and expires_at > now()",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = scope });
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }
        return new StoredAnswer(reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), reader.GetString(2), reader.GetFieldValue<byte[]>(3));
    }

    /// <summary>
    /// Inserts one row per key (the keys are distinct), taking over rows whose time is up; returns the keys that were
    /// stored. A key another transaction holds uncommitted makes this wait for it, then counts as not stored.
    /// </summary>
    public static async Task<HashSet<(string Scope, string Key)>> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, IReadOnlyList<IdempotencyRecord> records, TimeSpan lifetime, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
             insert into {schema}.{TableName} as k (scope, key, request_hash, status, content_type, body, created_at, expires_at)
             select s, k, h, st, ct, b, now(), now() + $7
             from unnest($1::text[], $2::text[], $3::bytea[], $4::int[], $5::text[], $6::bytea[]) as u(s, k, h, st, ct, b)
             on conflict (scope, key) do update set
                 request_hash = excluded.request_hash, status = excluded.status, content_type = excluded.content_type,
                 body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at
             where k.expires_at <= now()
             returning k.scope, k.key
             """, connection, transaction);
        var count = records.Count;
        var scopes = new string[count];
        var keys = new string[count];
        var hashes = new byte[count][];
        var statuses = new int[count];
        var contentTypes = new string[count];
        var bodies = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var record = records[i];
            (scopes[i], keys[i], hashes[i], statuses[i], contentTypes[i], bodies[i]) =
                (record.Scope, record.Key, record.RequestHash, record.Status, record.ContentType, record.Body);
        }
        command.Parameters.Add(new NpgsqlParameter { Value = scopes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = hashes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = statuses, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = contentTypes, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = bodies, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter { Value = lifetime, NpgsqlDbType = NpgsqlDbType.Interval });
        var stored = new HashSet<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            stored.Add((reader.GetString(0), reader.GetString(1)));
        }
        return stored;
    }

    /// <summary>Deletes keys whose time is up; returns how many.</summary>
    public static async Task<int> DeleteExpiredAsync(IDocumentStore store, CancellationToken ct)
    {
        await using var connection = store.Storage.Database.CreateConnection();
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand($"delete from {store.Options.DatabaseSchemaName}.{TableName} where expires_at <= now()", connection);
        return await command.ExecuteNonQueryAsync(ct);
    }
}
