using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace MaestroSla.Backup.Format;

/// <summary>
/// A kind of row the state segment carries. Each kind says once which columns it has (read by the backup, COPYed
/// by the restore, in the same order), how it reads a database row, how it is written as a line and read back.
/// </summary>
internal interface IStateRow<TSelf> where TSelf : IStateRow<TSelf>
{
    /// <summary>The line's <c>kind</c>.</summary>
    static abstract string Kind { get; }

    static abstract string[] Columns { get; }

    /// <summary>The current row of a reader that selected <see cref="Columns"/>.</summary>
    static abstract TSelf Read(NpgsqlDataReader reader);

    static abstract TSelf Read(JsonElement line);

    /// <summary>The line's properties after <c>kind</c>.</summary>
    void Write(Utf8JsonWriter json);

    /// <summary>One row of a binary COPY into <see cref="Columns"/>.</summary>
    Task CopyAsync(NpgsqlBinaryImporter importer, CancellationToken ct);
}

/// <summary>A stream's id and type, so a restore can create it before its events (its version comes from them).</summary>
internal sealed record StreamRow(string Id, string? Type, string? TenantId) : IStateRow<StreamRow>
{
    public static string Kind => "stream";
    public static string[] Columns { get; } = ["id", "type", "tenant_id"];

    public static StreamRow Read(NpgsqlDataReader reader) =>
        new(reader.GetString(0), StateLine.NullableString(reader, 1), StateLine.NullableString(reader, 2));

    public static StreamRow Read(JsonElement line) =>
        new(line.GetProperty("id").GetString()!, StateLine.OptionalString(line, "type"), StateLine.OptionalString(line, "tenant"));

    public void Write(Utf8JsonWriter json)
    {
        json.WriteString("id"u8, Id);
        StateLine.WriteNullable(json, "type"u8, Type);
        StateLine.WriteNullable(json, "tenant"u8, TenantId);
    }

    public async Task CopyAsync(NpgsqlBinaryImporter importer, CancellationToken ct)
    {
        await importer.WriteAsync(Id, NpgsqlDbType.Varchar, ct);
        await StateLine.WriteNullableAsync(importer, Type, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(TenantId ?? "*DEFAULT*", NpgsqlDbType.Varchar, ct);
    }
}

/// <summary>A dead-letter document as Marten stored it: the body stays raw JSON.</summary>
internal sealed record DeadLetterRow(string Id, string Data, DateTimeOffset? LastModified, Guid? Version, string? DotnetType) : IStateRow<DeadLetterRow>
{
    public static string Kind => "deadLetter";
    public static string[] Columns { get; } = ["id", "data", "mt_last_modified", "mt_version", "mt_dotnet_type"];

    public static DeadLetterRow Read(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
        reader.IsDBNull(3) ? null : reader.GetGuid(3),
        StateLine.NullableString(reader, 4));

    public static DeadLetterRow Read(JsonElement line) => new(
        line.GetProperty("id").GetString()!,
        line.GetProperty("data").GetRawText(),
        line.TryGetProperty("lastModified", out var modified) ? modified.GetDateTimeOffset() : null,
        line.TryGetProperty("version", out var version) ? version.GetGuid() : null,
        StateLine.OptionalString(line, "dotnetType"));

    public void Write(Utf8JsonWriter json)
    {
        json.WriteString("id"u8, Id);
        if (LastModified is { } modified)
        {
            json.WriteString("lastModified"u8, modified);
        }
        if (Version is { } version)
        {
            json.WriteString("version"u8, version);
        }
        StateLine.WriteNullable(json, "dotnetType"u8, DotnetType);
        json.WritePropertyName("data"u8);
        json.WriteRawValue(Data, skipInputValidation: true);
    }

    public async Task CopyAsync(NpgsqlBinaryImporter importer, CancellationToken ct)
    {
        await importer.WriteAsync(Id, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(Data, NpgsqlDbType.Jsonb, ct);
        await StateLine.WriteNullableAsync(importer, LastModified?.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
        await importer.WriteAsync(Version ?? Guid.NewGuid(), NpgsqlDbType.Uuid, ct);
        await StateLine.WriteNullableAsync(importer, DotnetType, NpgsqlDbType.Varchar, ct);
    }
}

// Resume and ClosedBefore: where ingest's held requests start and the minute before which all is stored (null in
// rows written before ingest held open minutes, and in backups taken before; then ingest resumes at NextOffset).
internal sealed record OffsetRow(string Group, string Topic, int Partition, long NextOffset, DateTimeOffset UpdatedAt, long? Resume = null, DateTimeOffset? ClosedBefore = null)
    : IStateRow<OffsetRow>
{
    public static string Kind => "offset";
    public static string[] Columns { get; } = ["consumer_group", "topic", "partition", "next_offset", "updated_at", "resume_offset", "closed_before"];

    public static OffsetRow Read(NpgsqlDataReader reader) => new(
        reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4),
        StateLine.Resume(reader, 5), StateLine.ClosedBefore(reader, 6));

    public static OffsetRow Read(JsonElement line) => new(
        line.GetProperty("group").GetString()!, line.GetProperty("topic").GetString()!,
        line.GetProperty("partition").GetInt32(), line.GetProperty("next").GetInt64(),
        line.GetProperty("updatedAt").GetDateTimeOffset(), StateLine.Resume(line), StateLine.ClosedBefore(line));

    public void Write(Utf8JsonWriter json)
    {
        StateLine.WritePosition(json, Group, Topic, Partition, NextOffset);
        json.WriteString("updatedAt"u8, UpdatedAt);
        StateLine.WriteHeld(json, Resume, ClosedBefore);
    }

    public Task CopyAsync(NpgsqlBinaryImporter importer, CancellationToken ct) =>
        StateLine.CopyPositionAsync(importer, Group, Topic, Partition, NextOffset, UpdatedAt, Resume, ClosedBefore, ct);
}

internal sealed record OffsetHistoryRow(long Id, string Group, string Topic, int Partition, long NextOffset, DateTimeOffset CommittedAt, long? Resume = null, DateTimeOffset? ClosedBefore = null)
    : IStateRow<OffsetHistoryRow>
{
    public static string Kind => "offsetHistory";
    public static string[] Columns { get; } = ["id", "consumer_group", "topic", "partition", "next_offset", "committed_at", "resume_offset", "closed_before"];

    public static OffsetHistoryRow Read(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4),
        reader.GetFieldValue<DateTimeOffset>(5), StateLine.Resume(reader, 6), StateLine.ClosedBefore(reader, 7));

    public static OffsetHistoryRow Read(JsonElement line) => new(
        line.GetProperty("id").GetInt64(),
        line.GetProperty("group").GetString()!, line.GetProperty("topic").GetString()!,
        line.GetProperty("partition").GetInt32(), line.GetProperty("next").GetInt64(),
        line.GetProperty("committedAt").GetDateTimeOffset(), StateLine.Resume(line), StateLine.ClosedBefore(line));

    public void Write(Utf8JsonWriter json)
    {
        json.WriteNumber("id"u8, Id);
        StateLine.WritePosition(json, Group, Topic, Partition, NextOffset);
        json.WriteString("committedAt"u8, CommittedAt);
        StateLine.WriteHeld(json, Resume, ClosedBefore);
    }

    public async Task CopyAsync(NpgsqlBinaryImporter importer, CancellationToken ct)
    {
        await importer.WriteAsync(Id, NpgsqlDbType.Bigint, ct);
        await StateLine.CopyPositionAsync(importer, Group, Topic, Partition, NextOffset, CommittedAt, Resume, ClosedBefore, ct);
    }
}

/// <summary>What the row kinds share: nullable fields, and a partition's position as offsets and their history keep it.</summary>
internal static class StateLine
{
    /// <summary>Writes <paramref name="row"/> as one line of <paramref name="file"/>.</summary>
    public static Task WriteAsync<T>(SegmentFile file, T row, CancellationToken ct) where T : IStateRow<T>
    {
        var json = file.Line;
        json.WriteStartObject();
        json.WriteString("kind"u8, T.Kind);
        row.Write(json);
        json.WriteEndObject();
        return file.EndLineAsync(ct).AsTask();
    }

    /// <summary>COPYs <paramref name="rows"/> into <paramref name="table"/> in one binary import.</summary>
    public static async Task CopyAsync<T>(NpgsqlConnection connection, string table, IEnumerable<T> rows, CancellationToken ct) where T : IStateRow<T>
    {
        await using var importer = await connection.BeginBinaryImportAsync(
            $"copy {table} ({string.Join(", ", T.Columns)}) from stdin (format binary)", ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            await row.CopyAsync(importer, ct);
        }
        await importer.CompleteAsync(ct);
    }

    public static void WritePosition(Utf8JsonWriter json, string group, string topic, int partition, long next)
    {
        json.WriteString("group"u8, group);
        json.WriteString("topic"u8, topic);
        json.WriteNumber("partition"u8, partition);
        json.WriteNumber("next"u8, next);
    }

    /// <summary>Where ingest's held requests start, and the minute before which everything read is stored, when set.</summary>
    public static void WriteHeld(Utf8JsonWriter json, long? resume, DateTimeOffset? closedBefore)
    {
        if (resume is { } offset)
        {
            json.WriteNumber("resume"u8, offset);
        }
        if (closedBefore is { } minute)
        {
            json.WriteString("closedBefore"u8, minute);
        }
    }

    public static async Task CopyPositionAsync(
        NpgsqlBinaryImporter importer, string group, string topic, int partition, long next, DateTimeOffset at,
        long? resume, DateTimeOffset? closedBefore, CancellationToken ct)
    {
        await importer.WriteAsync(group, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(topic, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(partition, NpgsqlDbType.Integer, ct);
        await importer.WriteAsync(next, NpgsqlDbType.Bigint, ct);
        await importer.WriteAsync(at.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
        await WriteNullableAsync(importer, resume, NpgsqlDbType.Bigint, ct);
        await WriteNullableAsync(importer, closedBefore?.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
    }

    public static long? Resume(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    public static DateTimeOffset? ClosedBefore(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static long? Resume(JsonElement line) =>
        line.TryGetProperty("resume", out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    public static DateTimeOffset? ClosedBefore(JsonElement line) =>
        line.TryGetProperty("closedBefore", out var value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;

    public static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static string? OptionalString(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static void WriteNullable(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    public static async Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken ct)
    {
        if (value is null)
        {
            await importer.WriteNullAsync(ct);
        }
        else
        {
            await importer.WriteAsync(value, type, ct);
        }
    }
}
