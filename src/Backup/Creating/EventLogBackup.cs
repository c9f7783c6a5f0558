using System.Data;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace MaestroSla.Backup.Creating;

public sealed class BackupInProgressException() : InvalidOperationException("Another backup of this event store is running");

/// <summary>
/// Makes one backup set: the events since its parent (none for a full backup, the previous backup for an
/// incremental, the last full one for a differential) up to the safe high-water mark, read as raw rows in one
/// snapshot, in gzip'd NDJSON segments, then the state segment, then — last — the manifest.
/// </summary>
public sealed class EventLogBackup(IDocumentStore store, IBackupTarget target, BackupOptions options, TimeProvider time, ILogger? logger = null)
{
    // Session advisory lock: one backup per event store at a time, whichever instance or process starts it.
    private const long LockKey = 0x4D61_6573_7472_6F42;

    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <param name="started">Called once the run is recorded (with its id), for callers that do not wait for the end.</param>
    public async Task<BackupRun> RunAsync(BackupType requested, string trigger, CancellationToken ct, Action<BackupRun>? started = null)
    {
        await using var lockConnection = store.Storage.Database.CreateConnection();
        await lockConnection.OpenAsync(ct);
        if (!await ScalarAsync<bool>(lockConnection, $"select pg_try_advisory_lock({LockKey})", ct))
        {
            throw new BackupInProgressException();
        }
        try
        {
            return await RunLockedAsync(requested, trigger, started, ct);
        }
        finally
        {
            await ScalarAsync<bool>(lockConnection, $"select pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    /// <summary>Runs <paramref name="work"/> while no backup of this store can start (rekey: parents must not change under a new child).</summary>
    public async Task<T> ExclusivelyAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        await using var lockConnection = store.Storage.Database.CreateConnection();
        await lockConnection.OpenAsync(ct);
        if (!await ScalarAsync<bool>(lockConnection, $"select pg_try_advisory_lock({LockKey})", ct))
        {
            throw new BackupInProgressException();
        }
        try
        {
            return await work(ct);
        }
        finally
        {
            await ScalarAsync<bool>(lockConnection, $"select pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    private async Task<BackupRun> RunLockedAsync(BackupType requested, string trigger, Action<BackupRun>? onStarted, CancellationToken ct)
    {
        var identity = await StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        // Only a set of this store and timeline can be built on: another store's (a second database sharing the
        // target) or another timeline's (the copy this one was restored from, or restored from this one) holds
        // other events under the same sequence numbers.
        var parent = requested switch
        {
            BackupType.Incremental => catalog.NewestRestorable(identity),
            BackupType.Differential => catalog.NewestRestorable(identity, BackupType.Full),
            _ => null,
        };
        var type = parent is null ? BackupType.Full : requested;
        var fullBecause = type == requested ? null : WhyFull(catalog, identity, requested);
        var startedAt = time.GetUtcNow();
        var id = BackupIds.New(type, startedAt);
        var run = new BackupRun
        {
            Id = id,
            BackupId = id,
            RequestedType = requested,
            Type = type,
            ParentId = parent?.BackupId,
            FullBecause = fullBecause,
            StoreId = identity.StoreId,
            Timeline = identity.Timeline,
            KeyId = options.Keyring().Current?.Id,
            Trigger = trigger,
            Target = target.Description,
            StartedAt = startedAt,
            SequenceFrom = parent?.SequenceTo ?? 0,
        };
        var recorder = new RunRecorder<BackupRun>(store, run, time, _logger);
        await recorder.RunAsync("Backup", onStarted, async () =>
        {
            if (type != requested)
            {
                _logger.LogInformation("Backup {Id} is a full one: {Reason}", id, fullBecause);
            }
            var manifest = await WriteSetAsync(run, recorder, identity, parent is null ? null : catalog.Find(parent.BackupId)?.ManifestSha256, ct);
            run.Events = run.EventsDone = run.EventsTotal = manifest.EventCount;
            run.Bytes = manifest.TotalBytes;
        }, ct, failed: () => CleanUpAsync(id));
        _logger.LogInformation("Backup {Id} ({Type}) done: sequence ({From}, {To}], {Events} events, {Bytes} bytes in {Segments} segments, {Duration}",
            id, type, run.SequenceFrom, run.SequenceTo, run.Events, run.Bytes, run.Segments, run.Duration);
        return run;
    }

    private static string WhyFull(BackupCatalog catalog, StoreIdentity identity, BackupType requested)
    {
        var wanted = requested == BackupType.Differential ? "full backup" : "backup";
        var ownStore = catalog.Complete.Reverse().FirstOrDefault(m => identity.SameStore(m) && catalog.IsRestorable(m.BackupId));
        var newest = catalog.NewestRestorable();
        return ownStore is not null
            ? $"no complete {wanted} of this store's timeline {identity.Timeline} to build on (this store's newest, {ownStore.BackupId}, is of timeline {ownStore.Timeline}: a restored copy starts a chain of its own)"
            : newest is not null
                ? $"no complete {wanted} of this store ({identity.StoreId}) to build on (the newest on the target, {newest.BackupId}, is of {BackupCatalog.Describe(newest)})"
                : $"no complete {wanted} on the target to build on";
    }

    private async Task<BackupManifest> WriteSetAsync(
        BackupRun run, RunRecorder<BackupRun> recorder, StoreIdentity identity, string? parentManifestSha256, CancellationToken ct)
    {
        var keys = options.Keyring();
        var tables = StoreTables.For(store);
        var workDirectory = Directory.CreateTempSubdirectory($"maestrosla-backup-{run.Id}-").FullName;
        try
        {
            await using var connection = store.Storage.Database.CreateConnection();
            await connection.OpenAsync(ct);
            // One snapshot for the mark, the events and the state: they describe the same moment.
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
            await ScalarAsync<object>(connection, "set transaction read only", ct);

            var from = run.SequenceFrom;
            var to = await SafeHighWaterMark.FindAsync(connection, tables, from, options.DeadGapAfter, _logger, ct);
            run.SequenceTo = to;
            run.EventsTotal = to - from;
            await recorder.SaveAsync(ct);
            _logger.LogInformation("Backup {Id} ({Type}, parent {Parent}) of sequence ({From}, {To}] to {Target}",
                run.Id, run.Type, run.ParentId ?? "none", from, to, target.Description);

            var segments = new List<BackupSegment>();
            long events = 0;
            DateTimeOffset? first = null, last = null;
            var columns = EventRecord.SelectColumns(await tables.EventColumnsAsync(connection, ct));
            SegmentFile? segment = null;
            try
            {
                await using (var command = new NpgsqlCommand(
                    $"select {string.Join(", ", columns)} from {tables.Events} where seq_id > $1 and seq_id <= $2 order by seq_id", connection))
                {
                    command.Parameters.Add(new NpgsqlParameter { Value = from });
                    command.Parameters.Add(new NpgsqlParameter { Value = to });
                    await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, ct);
                    while (await reader.ReadAsync(ct))
                    {
                        segment ??= NewSegment(workDirectory, run.Id, $"events-{segments.Count + 1:D6}.ndjson.gz", SegmentKinds.Events, keys);
                        var (sequence, timestamp) = EventRecord.WriteLine(segment.Line, reader, columns);
                        segment.CountEvent(sequence, timestamp);
                        await segment.EndLineAsync(ct);
                        events++;
                        if (segment.Events == options.SegmentEvents)
                        {
                            segments.Add(await FinishAsync(run, recorder, segment, events, ct));
                            Extend(ref first, ref last, segments[^1]);
                            segment = null;
                        }
                        else if ((events & 0xFFF) == 0)
                        {
                            run.EventsDone = events;
                            await recorder.SaveProgressAsync(ct);
                        }
                    }
                }
                if (segment is not null)
                {
                    segments.Add(await FinishAsync(run, recorder, segment, events, ct));
                    Extend(ref first, ref last, segments[^1]);
                    segment = null;
                }

                segment = NewSegment(workDirectory, run.Id, BackupState.SegmentName, SegmentKinds.State, keys);
                var state = await BackupState.WriteAsync(connection, tables, from, to, segment, ct);
                segments.Add(await FinishAsync(run, recorder, segment, events, ct));
                segment = null;
                _logger.LogInformation("Backup {Id}: state with {Streams} streams, {DeadLetters} dead letters, {Offsets} stored offsets, {History} offset history rows",
                    run.Id, state.Streams, state.DeadLetters, state.Offsets, state.History);
            }
            finally
            {
                if (segment is not null)
                {
                    await segment.DisposeAsync();
                }
            }
            await transaction.CommitAsync(ct);

            var manifest = new BackupManifest
            {
                FormatVersion = BackupManifest.CurrentFormatVersion,
                BackupId = run.Id,
                Type = run.Type,
                ParentId = run.ParentId,
                CreatedAt = run.StartedAt,
                SequenceFrom = from,
                SequenceTo = to,
                EarliestEventAt = first,
                LatestEventAt = last,
                EventCount = events,
                Schema = tables.EventSchema,
                Segments = segments,
                StoreId = identity.StoreId,
                Timeline = identity.Timeline,
                TimelineId = identity.TimelineId,
                FullBecause = run.FullBecause,
                Encryption = keys.Current is { } key ? new BackupEncryption(SealedFile.Algorithm, key.Id, options.Encryption.FrameBytes) : null,
                ParentManifestSha256 = parentManifestSha256,
            };
            manifest = ManifestSigning.Sign(manifest, keys);
            // Last: only now does the set exist as a backup.
            await target.PutBytesAsync(run.Id, BackupManifest.FileName, manifest.ToUtf8Json(), ct);
            return manifest;
        }
        finally
        {
            Directory.Delete(workDirectory, recursive: true);
        }
    }

    private SegmentFile NewSegment(string directory, string setId, string name, string kind, BackupKeyring keys) =>
        new(Path.Combine(directory, name), name, kind, options.Compression,
            keys.Current is { } key ? (key, setId, options.Encryption.FrameBytes) : null);

    private async Task<BackupSegment> FinishAsync(BackupRun run, RunRecorder<BackupRun> recorder, SegmentFile segment, long eventsSoFar, CancellationToken ct)
    {
        var info = await segment.CompleteAsync(ct);
        var raw = segment.RawBytes;
        await segment.DisposeAsync();
        await target.PutFileAsync(run.Id, info.Name, segment.Path, ct);
        File.Delete(segment.Path);
        run.Segments++;
        run.Bytes += info.Bytes;
        run.EventsDone = eventsSoFar;
        await recorder.SaveProgressAsync(ct);
        _logger.LogInformation("Backup {Id}: {Segment} stored ({Events} events, {Raw} bytes → {Bytes} gzip'd); {Done}/{Total} events",
            run.Id, info.Name, info.Events, raw, info.Bytes, eventsSoFar, run.EventsTotal);
        return info;
    }

    private static void Extend(ref DateTimeOffset? first, ref DateTimeOffset? last, BackupSegment segment)
    {
        if (segment.EarliestEventAt is { } earliest && (first is null || earliest < first))
        {
            first = earliest;
        }
        if (segment.LatestEventAt is { } latest && (last is null || latest > last))
        {
            last = latest;
        }
    }

    /// <summary>Best effort: a crash leaves the segments anyway, which is why listing needs the manifest.</summary>
    private async Task CleanUpAsync(string id)
    {
        try
        {
            foreach (var stored in await target.ListObjectsAsync(id, CancellationToken.None))
            {
                await target.DeleteAsync(id, stored.Name, CancellationToken.None);
            }
        }
        catch (Exception ex)
        {
            // Whatever went wrong here, the backup's own failure is what gets reported and rethrown.
            _logger.LogWarning(ex, "The segments of failed backup {Id} could not be removed; it stays listed as incomplete", id);
        }
    }


    private static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T?)await command.ExecuteScalarAsync(ct);
    }
}
