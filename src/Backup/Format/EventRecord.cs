using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace MaestroSla.Backup.Format;

/// <summary>
/// One row of Marten's events table as a line of an events segment. The event body is kept as the raw JSON Marten stored
/// (never deserialized), so a backup and a restore cost a copy, not a round trip through the event types.
/// </summary>
/// <remarks>
/// Line layout: {"seq":1,"id":"…","stream":"checkout","version":1,"type":"requests_recorded","timestamp":"…",
/// "tenant":"*DEFAULT*","dotnetType":"…","archived":false, optional metadata …, "data":{…}}. Readable with
/// zcat | jq, independent of column order and of PostgreSQL's binary COPY format.
/// </remarks>
internal sealed class EventRecord
{
    /// <summary>Columns every Marten event table has; restore writes these and whatever optional ones both sides have.</summary>
    public static readonly string[] RequiredColumns =
        ["seq_id", "id", "stream_id", "version", "data", "type", "timestamp", "tenant_id", "mt_dotnet_type", "is_archived"];

    /// <summary>Columns Marten adds when metadata or binary bodies are enabled: kept when present.</summary>
    public static readonly string[] OptionalColumns = ["bdata", "correlation_id", "causation_id", "headers", "user_name"];

    private readonly RecentStrings _streams = new();
    private readonly RecentStrings _types = new();
    private readonly RecentStrings _tenants = new();
    private readonly RecentStrings _dotnetTypes = new();

    public long Sequence { get; private set; }
    public Guid Id { get; private set; }
    public string StreamId { get; private set; } = "";
    public long Version { get; private set; }
    public ReadOnlyMemory<byte> Data { get; private set; }
    public string Type { get; private set; } = "";
    public DateTimeOffset Timestamp { get; private set; }
    public string? TenantId { get; private set; }
    public string? DotnetType { get; private set; }
    public bool IsArchived { get; private set; }
    public byte[]? BinaryData { get; private set; }
    public string? CorrelationId { get; private set; }
    public string? CausationId { get; private set; }
    public ReadOnlyMemory<byte>? Headers { get; private set; }
    public string? UserName { get; private set; }

    /// <summary>Writes the current row of <paramref name="reader"/> (columns in <paramref name="columns"/> order).</summary>
    public static (long Sequence, DateTimeOffset Timestamp) WriteLine(Utf8JsonWriter json, NpgsqlDataReader reader, IReadOnlyList<string> columns)
    {
        // Sequential access: every column is read once, in order; the body is written last so a reader can
        // slice it out without parsing it.
        var sequence = reader.GetInt64(0);
        json.WriteStartObject();
        json.WriteNumber("seq"u8, sequence);
        json.WriteString("id"u8, reader.GetGuid(1));
        json.WriteString("stream"u8, reader.GetString(2));
        json.WriteNumber("version"u8, reader.GetInt64(3));
        var data = reader.GetFieldValue<byte[]>(4);
        json.WriteString("type"u8, reader.GetString(5));
        var timestamp = reader.GetFieldValue<DateTimeOffset>(6);
        json.WriteString("timestamp"u8, timestamp);
        WriteNullableString(json, "tenant"u8, reader, 7);
        WriteNullableString(json, "dotnetType"u8, reader, 8);
        json.WriteBoolean("archived"u8, !reader.IsDBNull(9) && reader.GetBoolean(9));
        for (var i = RequiredColumns.Length; i < columns.Count; i++)
        {
            if (reader.IsDBNull(i))
            {
                continue;
            }
            switch (columns[i])
            {
                case "bdata":
                    json.WriteBase64String("bdata"u8, reader.GetFieldValue<byte[]>(i));
                    break;
                case "correlation_id":
                    json.WriteString("correlationId"u8, reader.GetString(i));
                    break;
                case "causation_id":
                    json.WriteString("causationId"u8, reader.GetString(i));
                    break;
                case "headers":
                    json.WritePropertyName("headers"u8);
                    json.WriteRawValue(reader.GetFieldValue<byte[]>(i), skipInputValidation: true);
                    break;
                case "user_name":
                    json.WriteString("userName"u8, reader.GetString(i));
                    break;
            }
        }
        json.WritePropertyName("data"u8);
        json.WriteRawValue(data, skipInputValidation: true);
        json.WriteEndObject();
        return (sequence, timestamp);
    }

    /// <summary>The select list for a backup: required columns first (in <see cref="WriteLine"/>'s order), then optional ones present.</summary>
    public static IReadOnlyList<string> SelectColumns(IReadOnlySet<string> present)
    {
        var columns = new List<string>(RequiredColumns);
        columns.AddRange(OptionalColumns.Where(present.Contains));
        return columns;
    }

    /// <summary>One row of a binary COPY into <see cref="RequiredColumns"/> followed by <paramref name="optional"/>.</summary>
    public async Task CopyAsync(NpgsqlBinaryImporter importer, string[] optional, CancellationToken ct)
    {
        await importer.StartRowAsync(ct);
        await importer.WriteAsync(Sequence, NpgsqlDbType.Bigint, ct);
        await importer.WriteAsync(Id, NpgsqlDbType.Uuid, ct);
        await importer.WriteAsync(StreamId, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(Version, NpgsqlDbType.Bigint, ct);
        await importer.WriteAsync(Data, NpgsqlDbType.Jsonb, ct);
        await importer.WriteAsync(Type, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(Timestamp.ToUniversalTime(), NpgsqlDbType.TimestampTz, ct);
        await StateLine.WriteNullableAsync(importer, TenantId, NpgsqlDbType.Varchar, ct);
        await StateLine.WriteNullableAsync(importer, DotnetType, NpgsqlDbType.Varchar, ct);
        await importer.WriteAsync(IsArchived, NpgsqlDbType.Boolean, ct);
        foreach (var column in optional)
        {
            switch (column)
            {
                case "bdata":
                    await StateLine.WriteNullableAsync(importer, BinaryData, NpgsqlDbType.Bytea, ct);
                    break;
                case "correlation_id":
                    await StateLine.WriteNullableAsync(importer, CorrelationId, NpgsqlDbType.Varchar, ct);
                    break;
                case "causation_id":
                    await StateLine.WriteNullableAsync(importer, CausationId, NpgsqlDbType.Varchar, ct);
                    break;
                case "user_name":
                    await StateLine.WriteNullableAsync(importer, UserName, NpgsqlDbType.Varchar, ct);
                    break;
                case "headers":
                    if (Headers is { } headers)
                    {
                        await importer.WriteAsync(headers, NpgsqlDbType.Jsonb, ct);
                    }
                    else
                    {
                        await importer.WriteNullAsync(ct);
                    }
                    break;
            }
        }
    }

    public void Parse(ReadOnlyMemory<byte> line)
    {
        BinaryData = null;
        CorrelationId = CausationId = UserName = null;
        Headers = null;
        TenantId = DotnetType = null;
        IsArchived = false;
        var seen = 0;

        var reader = new Utf8JsonReader(line.Span);
        Expect(ref reader, JsonTokenType.StartObject);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = Property(ref reader);
            reader.Read();
            switch (property)
            {
                case Field.Data:
                case Field.Headers:
                    // Raw JSON, sliced out of the line: the body goes to PostgreSQL as the bytes it came from.
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var raw = line.Slice(start, (int)reader.BytesConsumed - start);
                    if (property == Field.Data)
                    {
                        Data = raw;
                    }
                    else
                    {
                        Headers = raw;
                    }
                    break;
                case Field.Sequence:
                    Sequence = reader.GetInt64();
                    break;
                case Field.Id:
                    Id = reader.GetGuid();
                    break;
                case Field.Stream:
                    StreamId = _streams.Get(ref reader) ?? throw new JsonException("An event line has a null stream");
                    break;
                case Field.Version:
                    Version = reader.GetInt64();
                    break;
                case Field.Type:
                    Type = _types.Get(ref reader) ?? throw new JsonException("An event line has a null type");
                    break;
                case Field.Timestamp:
                    Timestamp = reader.GetDateTimeOffset();
                    break;
                case Field.Tenant:
                    TenantId = _tenants.Get(ref reader);
                    break;
                case Field.DotnetType:
                    DotnetType = _dotnetTypes.Get(ref reader);
                    break;
                case Field.Archived:
                    IsArchived = reader.GetBoolean();
                    break;
                case Field.BinaryData:
                    BinaryData = reader.GetBytesFromBase64();
                    break;
                case Field.CorrelationId:
                    CorrelationId = reader.GetString();
                    break;
                case Field.CausationId:
                    CausationId = reader.GetString();
                    break;
                case Field.UserName:
                    UserName = reader.GetString();
                    break;
                default:
                    // Written by a newer version: ignore what this one does not know.
                    reader.Skip();
                    break;
            }
            seen |= (int)property & Required;
        }
        if (seen != Required)
        {
            throw new JsonException("An event line lacks one of seq, id, stream, version, type, timestamp, data");
        }
    }

    // The required fields are single bits; the rest are distinct values above them.
    private const int Required = 127;

    private enum Field
    {
        Unknown = 0,
        Sequence = 1,
        Id = 2,
        Stream = 4,
        Version = 8,
        Type = 16,
        Timestamp = 32,
        Data = 64,
        Tenant = 128,
        DotnetType = 256,
        Archived = 512,
        BinaryData = 1024,
        CorrelationId = 2048,
        CausationId = 4096,
        UserName = 8192,
        Headers = 16384,
    }

    private static Field Property(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("seq"u8) ? Field.Sequence
        : reader.ValueTextEquals("id"u8) ? Field.Id
        : reader.ValueTextEquals("stream"u8) ? Field.Stream
        : reader.ValueTextEquals("version"u8) ? Field.Version
        : reader.ValueTextEquals("type"u8) ? Field.Type
        : reader.ValueTextEquals("timestamp"u8) ? Field.Timestamp
        : reader.ValueTextEquals("data"u8) ? Field.Data
        : reader.ValueTextEquals("tenant"u8) ? Field.Tenant
        : reader.ValueTextEquals("dotnetType"u8) ? Field.DotnetType
        : reader.ValueTextEquals("archived"u8) ? Field.Archived
        : reader.ValueTextEquals("bdata"u8) ? Field.BinaryData
        : reader.ValueTextEquals("correlationId"u8) ? Field.CorrelationId
        : reader.ValueTextEquals("causationId"u8) ? Field.CausationId
        : reader.ValueTextEquals("userName"u8) ? Field.UserName
        : reader.ValueTextEquals("headers"u8) ? Field.Headers
        : Field.Unknown;

    private static void WriteNullableString(Utf8JsonWriter json, ReadOnlySpan<byte> name, NpgsqlDataReader reader, int ordinal)
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

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"Expected {type} in an event line");
        }
    }

    /// <summary>
    /// Stream ids, event types and tenants repeat from line to line: reuse the last few strings instead of
    /// allocating one per event.
    /// </summary>
    private sealed class RecentStrings
    {
        private readonly string[] _recent = new string[16];
        private int _count;
        private int _next;

        public string? Get(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.Null)
            {
                return null;
            }
            for (var i = 0; i < _count; i++)
            {
                if (reader.ValueTextEquals(_recent[i]))
                {
                    return _recent[i];
                }
            }
            var value = reader.GetString()!;
            _recent[_next] = value;
            _next = (_next + 1) % _recent.Length;
            _count = Math.Min(_count + 1, _recent.Length);
            return value;
        }
    }
}
