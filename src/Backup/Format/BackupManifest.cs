using System.Text.Json;
using System.Text.Json.Serialization;

namespace MaestroSla.Backup.Format;

[JsonConverter(typeof(CamelCaseEnumConverter<BackupType>))]
public enum BackupType
{
    /// <summary>Every event up to the high-water mark.</summary>
    Full,

    /// <summary>Events since the previous backup of any type.</summary>
    Incremental,

    /// <summary>Events since the last full backup.</summary>
    Differential,
}

/// <summary>
/// What a backup set holds. Written last: a set without one was interrupted and is never listed as complete.
/// Sequence ranges are (from, to]: a child's SequenceFrom is its parent's SequenceTo.
/// </summary>
public sealed record BackupManifest
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = "manifest.json";

    public required int FormatVersion { get; init; }
    public required string BackupId { get; init; }
    public required BackupType Type { get; init; }

    /// <summary>The backup this one builds on: the previous one (incremental), the last full (differential), none (full).</summary>
    public string? ParentId { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }
    public required long SequenceFrom { get; init; }
    public required long SequenceTo { get; init; }

    /// <summary>
    /// Earliest and latest event timestamp in this set (null when it holds no events). Timestamps are each
    /// transaction's start, so they are not in sequence order: this is a range, not the first and last event's.
    /// </summary>
    public DateTimeOffset? EarliestEventAt { get; init; }
    public DateTimeOffset? LatestEventAt { get; init; }

    public required long EventCount { get; init; }

    /// <summary>The Marten schema the events came from, for the record (restores use the target's configuration).</summary>
    public required string Schema { get; init; }

    public required IReadOnlyList<BackupSegment> Segments { get; init; }

    [JsonIgnore]
    public long TotalBytes => Segments.Sum(s => s.Bytes);

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJson.Options);

    public static BackupManifest Parse(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize<BackupManifest>(utf8Json, BackupJson.Options)
        ?? throw new JsonException("The manifest is empty");
}

public static class SegmentKinds
{
    public const string Events = "events";

    /// <summary>Non-event data at backup time: streams, dead letters, stored Kafka offsets and their history.</summary>
    public const string State = "state";
}

/// <summary>One stored file of a set with what is needed to check it without trusting the storage.</summary>
public sealed record BackupSegment(
    string Name,
    string Kind,
    long Bytes,
    long Events,
    long FirstSequence,
    long LastSequence,
    DateTimeOffset? EarliestEventAt,
    DateTimeOffset? LatestEventAt,
    string Sha256);

/// <summary>Enums as camelCase strings ("full", "succeeded") wherever they are serialized: manifests and the API alike.</summary>
public sealed class CamelCaseEnumConverter<T>() : JsonStringEnumConverter<T>(JsonNamingPolicy.CamelCase) where T : struct, Enum;

public static class BackupJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
