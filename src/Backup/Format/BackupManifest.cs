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
    /// <summary>2: store identity and timeline, sealed segments, signatures, the parent manifest's hash.</summary>
    public const int CurrentFormatVersion = 2;
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

    /// <summary>The event store the events came from (its identity, made when its schema was first used); null before format 2.</summary>
    public string? StoreId { get; init; }

    /// <summary>The store's timeline: 1 from its creation, advanced by every restore (the restored copy's own history).</summary>
    public int? Timeline { get; init; }

    /// <summary>Tells apart two copies restored onto the same timeline number: sets chain only within one timeline id.</summary>
    public string? TimelineId { get; init; }

    /// <summary>Why a requested incremental or differential was made as a full backup instead.</summary>
    public string? FullBecause { get; init; }

    /// <summary>How the segments are sealed; null: plaintext gzip.</summary>
    public BackupEncryption? Encryption { get; init; }

    /// <summary>SHA-256 of the parent's manifest as stored when this set was made: a replaced parent no longer matches.</summary>
    public string? ParentManifestSha256 { get; init; }

    /// <summary>
    /// SHA-256 of the manifests this one replaced when its set was re-sealed with a new key (rekey): children made
    /// on those still join up, because this signed manifest vouches for them.
    /// </summary>
    public IReadOnlyList<string>? ReplacesManifests { get; init; }

    /// <summary>Over this manifest serialized without its signature; null: unsigned.</summary>
    public BackupSignature? Signature { get; init; }

    [JsonIgnore]
    public long TotalBytes => Segments.Sum(s => s.Bytes);

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, BackupJson.Options);

    /// <summary>The bytes a signature covers: the manifest as this version serializes it, without the signature.</summary>
    public byte[] SignedContent() => JsonSerializer.SerializeToUtf8Bytes(this with { Signature = null }, BackupJson.Options);

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

/// <param name="KeyId">The fingerprint of the key (never the key): restores and validation pick the key by it.</param>
public sealed record BackupEncryption(string Algorithm, string KeyId, int FrameBytes);

/// <param name="KeyId">HMAC: the encryption key's id the signing key derives from; ECDSA: the public key's fingerprint.</param>
/// <param name="Value">base64.</param>
public sealed record BackupSignature(string Algorithm, string KeyId, string Value);

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
