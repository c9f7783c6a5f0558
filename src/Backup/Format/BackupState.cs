using System.IO.Compression;
using System.Text.Json;
using Npgsql;

namespace MaestroSla.Backup.Format;

internal sealed record StreamRow(string Id, string? Type, string? TenantId);

/// <summary>A dead-letter document as Marten stored it: the body stays raw JSON.</summary>
internal sealed record DeadLetterRow(string Id, string Data, DateTimeOffset? LastModified, Guid? Version, string? DotnetType);

// Resume and ClosedBefore: where ingest's held requests start and the minute before which all is stored (null in
// rows written before ingest held open minutes, and in backups taken before; then ingest resumes at NextOffset).
internal sealed record OffsetRow(string Group, string Topic, int Partition, long NextOffset, DateTimeOffset UpdatedAt, long? Resume = null, DateTimeOffset? ClosedBefore = null);

internal sealed record OffsetHistoryRow(long Id, string Group, string Topic, int Partition, long NextOffset, DateTimeOffset CommittedAt, long? Resume = null, DateTimeOffset? ClosedBefore = null);

/// <summary>
/// The state segment: what is not an event but must come back with them. Streams (ids and types, so a restore
/// can create them before their events), every dead letter and stored Kafka offset at backup time, and the
/// offset history rows written by the transactions whose events are in this set.
/// </summary>
internal sealed class BackupState
{
    public const string SegmentName = "state.ndjson.gz";

    public List<StreamRow> Streams { get; } = [];
    public List<DeadLetterRow> DeadLetters { get; } = [];
    public List<OffsetRow> Offsets { get; } = [];
    public List<OffsetHistoryRow> History { get; } = [];

    /// <summary>
    /// Writes the state as seen by <paramref name="connection"/>'s transaction: the same snapshot the events of
    /// (<paramref name="from"/>, <paramref name="to"/>] were read in.
    /// </summary>
    public static async Task<(int Streams, int DeadLetters, int Offsets, int History)> WriteAsync(
        NpgsqlConnection connection, StoreTables tables, long from, long to, SegmentFile file, CancellationToken ct)
    {
        int streams = 0, deadLetters = 0, offsets = 0, history = 0;
        var json = file.Line;

        await using (var command = Command(connection, $"select id, type, tenant_id from {tables.Streams} order by id"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                json.WriteStartObject();
                json.WriteString("kind"u8, "stream"u8);
                json.WriteString("id"u8, reader.GetString(0));
                WriteNullable(json, "type"u8, reader, 1);
                WriteNullable(json, "tenant"u8, reader, 2);
                json.WriteEndObject();
                await file.EndLineAsync(ct);
                streams++;
            }
        }

        await using (var command = Command(connection,
            $"select id, mt_last_modified, mt_version, mt_dotnet_type, data from {tables.DeadLetterTable} order by id"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                json.WriteStartObject();
                json.WriteString("kind"u8, "deadLetter"u8);
                json.WriteString("id"u8, reader.GetString(0));
                if (!reader.IsDBNull(1))
                {
                    json.WriteString("lastModified"u8, reader.GetFieldValue<DateTimeOffset>(1));
                }
                if (!reader.IsDBNull(2))
                {
                    json.WriteString("version"u8, reader.GetGuid(2));
                }
                WriteNullable(json, "dotnetType"u8, reader, 3);
                json.WritePropertyName("data"u8);
                json.WriteRawValue(reader.GetFieldValue<byte[]>(4), skipInputValidation: true);
                json.WriteEndObject();
                await file.EndLineAsync(ct);
                deadLetters++;
            }
        }

        await using (var command = Command(connection,
            $"select consumer_group, topic, partition, next_offset, updated_at, resume_offset, closed_before from {tables.KafkaOffsets} order by 1, 2, 3"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                json.WriteStartObject();
                json.WriteString("kind"u8, "offset"u8);
                json.WriteString("group"u8, reader.GetString(0));
                json.WriteString("topic"u8, reader.GetString(1));
                json.WriteNumber("partition"u8, reader.GetInt32(2));
                json.WriteNumber("next"u8, reader.GetInt64(3));
                json.WriteString("updatedAt"u8, reader.GetFieldValue<DateTimeOffset>(4));
                WriteHeld(json, reader, 5);
                json.WriteEndObject();
                await file.EndLineAsync(ct);
                offsets++;
            }
        }

        // An offset advance belongs with the events its transaction wrote: a history row and those events share
        // the inserting transaction (xmin) and its now() (committed_at = timestamp). Rows of flushes that stored
        // only dead letters are linked through the dead letters instead, unless that transaction also wrote events
        // past this set (they travel with those events, in the next set). Rows may repeat across sets; a restore
        // keeps one per id.
        var historySql = $"""
            with tx as (
                select distinct xmin::text::bigint as x, timestamp as t from {tables.Events} where seq_id > $1 and seq_id <= $2
                union
                select xmin::text::bigint, mt_last_modified from {tables.DeadLetterTable}
            ), later as (
                select distinct xmin::text::bigint as x, timestamp as t from {tables.Events} where seq_id > $2
            )
            select h.id, h.consumer_group, h.topic, h.partition, h.next_offset, h.committed_at, h.resume_offset, h.closed_before
            from {tables.KafkaOffsetHistory} h
            join tx on h.xmin::text::bigint = tx.x and h.committed_at = tx.t
            where not exists (select 1 from later where later.x = tx.x and later.t = tx.t)
            order by h.id
            """;
        await using (var command = Command(connection, historySql, from, to))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                json.WriteStartObject();
                json.WriteString("kind"u8, "offsetHistory"u8);
                json.WriteNumber("id"u8, reader.GetInt64(0));
                json.WriteString("group"u8, reader.GetString(1));
                json.WriteString("topic"u8, reader.GetString(2));
                json.WriteNumber("partition"u8, reader.GetInt32(3));
                json.WriteNumber("next"u8, reader.GetInt64(4));
                json.WriteString("committedAt"u8, reader.GetFieldValue<DateTimeOffset>(5));
                WriteHeld(json, reader, 6);
                json.WriteEndObject();
                await file.EndLineAsync(ct);
                history++;
            }
        }
        return (streams, deadLetters, offsets, history);
    }

    /// <summary>Reads a state segment (gzip'd NDJSON). State is small: plain JSON documents per line are fine here.</summary>
    public static async Task<BackupState> ReadAsync(Stream compressed, CancellationToken ct)
    {
        var state = new BackupState();
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        using var lines = new NdjsonLineReader(gzip);
        while (await lines.ReadLineAsync(ct))
        {
            if (lines.Line.IsEmpty)
            {
                continue;
            }
            using var document = JsonDocument.Parse(lines.Line);
            var line = document.RootElement;
            switch (line.GetProperty("kind").GetString())
            {
                case "stream":
                    state.Streams.Add(new StreamRow(line.GetProperty("id").GetString()!, OptionalString(line, "type"), OptionalString(line, "tenant")));
                    break;
                case "deadLetter":
                    state.DeadLetters.Add(new DeadLetterRow(
                        line.GetProperty("id").GetString()!,
                        line.GetProperty("data").GetRawText(),
                        line.TryGetProperty("lastModified", out var modified) ? modified.GetDateTimeOffset() : null,
                        line.TryGetProperty("version", out var version) ? version.GetGuid() : null,
                        OptionalString(line, "dotnetType")));
                    break;
                case "offset":
                    state.Offsets.Add(new OffsetRow(
                        line.GetProperty("group").GetString()!, line.GetProperty("topic").GetString()!,
                        line.GetProperty("partition").GetInt32(), line.GetProperty("next").GetInt64(),
                        line.GetProperty("updatedAt").GetDateTimeOffset(), Resume(line), ClosedBefore(line)));
                    break;
                case "offsetHistory":
                    state.History.Add(new OffsetHistoryRow(
                        line.GetProperty("id").GetInt64(),
                        line.GetProperty("group").GetString()!, line.GetProperty("topic").GetString()!,
                        line.GetProperty("partition").GetInt32(), line.GetProperty("next").GetInt64(),
                        line.GetProperty("committedAt").GetDateTimeOffset(), Resume(line), ClosedBefore(line)));
                    break;
                default:
                    // A kind written by a newer version: not understood, so not restored.
                    break;
            }
        }
        return state;
    }

    private static long? Resume(JsonElement line) =>
        line.TryGetProperty("resume", out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt64() : null;

    private static DateTimeOffset? ClosedBefore(JsonElement line) =>
        line.TryGetProperty("closedBefore", out var value) && value.ValueKind == JsonValueKind.String ? value.GetDateTimeOffset() : null;

    /// <summary>Where ingest's held requests start, and the minute before which everything read is stored, when set.</summary>
    private static void WriteHeld(Utf8JsonWriter json, NpgsqlDataReader reader, int ordinal)
    {
        if (!reader.IsDBNull(ordinal))
        {
            json.WriteNumber("resume"u8, reader.GetInt64(ordinal));
        }
        if (!reader.IsDBNull(ordinal + 1))
        {
            json.WriteString("closedBefore"u8, reader.GetFieldValue<DateTimeOffset>(ordinal + 1));
        }
    }

    private static string? OptionalString(JsonElement line, string name) =>
        line.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static void WriteNullable(Utf8JsonWriter json, ReadOnlySpan<byte> name, NpgsqlDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, reader.GetString(ordinal));
        }
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        return command;
    }
}
