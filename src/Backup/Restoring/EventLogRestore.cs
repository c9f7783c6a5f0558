using System.IO.Compression;
using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Marten;
using Marten.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;

namespace MaestroSla.Backup.Restoring;

/// <param name="BackupId">The backup to restore (with its chain); the newest restorable one when null.</param>
/// <param name="PointInTime">Only events recorded at or before this instant (and the state as of then).</param>
/// <param name="TargetConnectionString">An empty database; the live one is refused.</param>
/// <param name="Force">Restore over a database that already holds data (its tables in the store's schema are emptied).</param>
/// <param name="AllowOtherStore">Restore a backup made of another event store than the one asking (named by id only).</param>
public sealed record RestoreRequest(string? BackupId, DateTimeOffset? PointInTime, string TargetConnectionString, bool Force = false, bool AllowOtherStore = false);

/// <summary>The backup named was made of another event store: restoring it needs the explicit flag.</summary>
public sealed class BackupOfAnotherStoreException(string backupId, string problem) : InvalidOperationException(problem)
{
    public string BackupId { get; } = backupId;
}

public sealed class RestoreTargetNotEmptyException(string target, IReadOnlyList<string> tables)
    : InvalidOperationException($"{target} is not empty ({string.Join(", ", tables)} hold rows); restore with force to overwrite it")
{
    public IReadOnlyList<string> Tables { get; } = tables;
}

public sealed class RestoreTargetIsLiveException(string target)
    : InvalidOperationException($"{target} is the database this service runs on; restore into another one");

/// <summary>
/// Rebuilds an event store from a backup chain in another database while the live service keeps running: checks
/// every segment first (and refuses before writing anything if one is bad), applies the store's schema, replays the
/// events with timestamp ≤ T in their original order with their original sequence numbers, ids, versions and
/// timestamps (binary COPY, one transaction), restores dead letters and the stored Kafka offsets as of T, then
/// rebuilds the projections with Marten's daemon.
/// </summary>
public sealed class EventLogRestore(
    IDocumentStore liveStore,
    IBackupTarget target,
    Func<string, StoreOptions> configureTarget,
    BackupOptions options,
    TimeProvider time,
    ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;

    /// <param name="started">Called once the run is recorded (with its id), for callers that do not wait for the end.</param>
    public async Task<RestoreRun> RestoreAsync(RestoreRequest request, string trigger, CancellationToken ct, Action<RestoreRun>? started = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.TargetConnectionString);
        var pointInTime = request.PointInTime?.ToUniversalTime();
        var asking = await StoreIdentity.GetOrCreateAsync(liveStore, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        var backupId = request.BackupId
            ?? catalog.LatestFor(asking)?.BackupId
            ?? throw new BackupNotRestorableException("latest", $"there is no complete backup of this store ({asking.StoreId}) on {target.Description}; name another store's backup by id to restore it");
        var (chain, problem) = catalog.ChainOf(backupId);
        if (problem is not null)
        {
            throw new BackupNotRestorableException(backupId, problem);
        }
        if (!asking.SameStore(chain[^1]) && !request.AllowOtherStore)
        {
            throw new BackupOfAnotherStoreException(backupId,
                $"backup {backupId} is of {BackupCatalog.Describe(chain[^1])}, not of this store ({asking.StoreId}); restore it with allowOtherStore (CLI: --other-store) if that is meant");
        }
        // The restored copy is the backup's store on a timeline no set on this target was made on yet.
        var source = chain[^1];
        var restoredIdentity = new StoreIdentity(
            source.StoreId ?? Guid.NewGuid().ToString(),
            Math.Max(catalog.HighestTimeline(source.StoreId), source.Timeline ?? 0) + 1,
            Guid.NewGuid().ToString(),
            time.GetUtcNow(),
            source.Timeline,
            source.BackupId,
            pointInTime);

        var run = new RestoreRun
        {
            Id = $"restore-{Guid.CreateVersion7(time.GetUtcNow()):N}",
            BackupId = backupId,
            Chain = chain.Select(m => m.BackupId).ToList(),
            PointInTime = pointInTime,
            Target = Describe(request.TargetConnectionString),
            Source = target.Description,
            Trigger = trigger,
            StartedAt = time.GetUtcNow(),
            EventsTotal = chain.Sum(m => m.EventCount),
            StoreId = source.StoreId,
            SourceTimeline = source.Timeline,
            Timeline = restoredIdentity.Timeline,
        };
        var recorder = new RunRecorder<RestoreRun>(liveStore, run, time, _logger);
        await recorder.RunAsync("Restore", started, async () =>
        {
            _logger.LogInformation("Restore {Id}: backup {Backup} (chain {Chain}){PointInTime} from {Source} into {Target}",
                run.Id, backupId, string.Join(" → ", run.Chain), pointInTime is null ? "" : $" up to {pointInTime:O}", target.Description, run.Target);
            await RestoreChainAsync(request, pointInTime, catalog, chain, restoredIdentity, run, recorder, ct);
        }, ct);
        _logger.LogInformation("Restore {Id} done in {Duration}: {Events} events, {Streams} streams, {DeadLetters} dead letters, {Offsets} stored offsets",
            run.Id, run.Duration, run.EventsDone, run.Streams, run.DeadLetters, run.KafkaOffsets);
        return run;
    }

    private async Task RestoreChainAsync(
        RestoreRequest request, DateTimeOffset? pointInTime, BackupCatalog catalog, IReadOnlyList<BackupManifest> chain,
        StoreIdentity restoredIdentity, RestoreRun run, RunRecorder<RestoreRun> recorder, CancellationToken ct)
    {
        var targetOptions = configureTarget(request.TargetConnectionString).WithRebuildPages(options.RebuildBatchSize);
        await using var targetStore = new DocumentStore(targetOptions);
        var tables = StoreTables.For(targetStore);
        string[] schemas = [.. new[] { tables.Schema, tables.EventSchema }.Distinct(StringComparer.Ordinal)];

        IReadOnlyList<string> occupied;
        await using (var connection = new NpgsqlConnection(request.TargetConnectionString))
        {
            await connection.OpenAsync(ct);
            if (await SameDatabaseAsync(connection, ct))
            {
                throw new RestoreTargetIsLiveException(run.Target);
            }
            occupied = await OccupiedTablesAsync(connection, schemas, ct);
            if (occupied.Count > 0 && !request.Force)
            {
                throw new RestoreTargetNotEmptyException(run.Target, occupied);
            }
        }

        // Every segment is checked before anything is written; from a remote target the checked bytes are staged
        // locally and replayed from there.
        var staging = target.IsLocal ? null : Directory.CreateTempSubdirectory("maestrosla-restore-").FullName;
        try
        {
            var validation = await new BackupValidator(target, options.Keyring()).ValidateAsync(catalog, chain[^1].BackupId, replay: false, staging, ct);
            if (!validation.Valid)
            {
                throw new BackupCorruptException(chain[^1].BackupId, validation.BadSegments, validation.Problems);
            }
            var source = staging is null ? target : new FolderBackupTarget(staging);

            if (occupied.Count > 0)
            {
                _logger.LogWarning("Restore {Id}: emptying {Tables} in {Target} (forced)", run.Id, string.Join(", ", occupied), run.Target);
                await EmptyAsync(request.TargetConnectionString, occupied, ct);
            }
            await targetStore.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
            await using (var connection = new NpgsqlConnection(request.TargetConnectionString))
            {
                await connection.OpenAsync(ct);
                await StoreIdentity.EnsureTableAsync(connection, tables.Schema, ct);
            }

            var replayStarted = time.GetTimestamp();
            await LoadAsync(request.TargetConnectionString, tables, chain, source, pointInTime, restoredIdentity, run, recorder, ct);
            run.ReplayDuration = time.GetElapsedTime(replayStarted);
            await recorder.SaveAsync(ct);

            var rebuildStarted = time.GetTimestamp();
            await ProjectionRebuild.RunAsync(targetStore, options.RebuildTimeout,
                name => _logger.LogInformation("Restore {Id}: rebuilding projection {Projection}", run.Id, name), ct);
            run.RebuildDuration = time.GetElapsedTime(rebuildStarted);
        }
        finally
        {
            if (staging is not null)
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private async Task LoadAsync(
        string connectionString, StoreTables tables, IReadOnlyList<BackupManifest> chain, IBackupTarget source,
        DateTimeOffset? pointInTime, StoreIdentity restoredIdentity, RestoreRun run, RunRecorder<RestoreRun> recorder, CancellationToken ct)
    {
        var keys = options.Keyring();
        // The newest set's state describes the streams, dead letters and offsets at the end of the chain; offset
        // history is spread over the chain (each set has the rows of its own transactions).
        BackupState? newest = null;
        var history = new Dictionary<long, OffsetHistoryRow>();
        foreach (var manifest in chain)
        {
            var stateSegment = manifest.Segments.Single(s => s.Kind == SegmentKinds.State);
            await using var stream = new SegmentSource(await source.OpenReadAsync(manifest.BackupId, stateSegment.Name, ct), manifest, stateSegment, keys);
            newest = await BackupState.ReadAsync(stream.Compressed, ct);
            await stream.DrainAsync(ct);
            foreach (var row in newest.History)
            {
                history[row.Id] = row;
            }
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);

        // Streams first (events reference them); their versions come from the events restored.
        await StateLine.CopyAsync(connection, tables.Streams, newest!.Streams, ct);

        var highest = await CopyEventsAsync(connection, tables, chain, source, pointInTime, keys, run, recorder, ct);

        await ExecuteAsync(connection,
            $"""
             update {tables.Streams} s set version = e.version, created = e.first, timestamp = e.last
             from (select stream_id, max(version) as version, min(timestamp) as first, max(timestamp) as last from {tables.Events} group by stream_id) e
             where s.id = e.stream_id
             """, ct);
        await ExecuteAsync(connection, $"delete from {tables.Streams} s where not exists (select 1 from {tables.Events} e where e.stream_id = s.id)", ct);
        run.Streams = (int)(long)(await ScalarAsync(connection, $"select count(*) from {tables.Streams}", ct))!;

        // Up to the end of the chain when restoring all of it (holes at its end are settled), else up to the last
        // event restored. New appends continue after it; the daemon is told everything below it is final, so the
        // holes left by events after T are not mistaken for appends in flight.
        var mark = pointInTime is null ? Math.Max(highest, chain[^1].SequenceTo) : highest;
        if (mark > 0)
        {
            await ExecuteAsync(connection, $"select setval('{tables.EventSequence}', $1)", ct, mark);
            await ExecuteAsync(connection,
                $"insert into {tables.Progression} (name, last_seq_id, last_updated) values ('HighWaterMark', $1, now()) on conflict (name) do update set last_seq_id = excluded.last_seq_id",
                ct, mark);
        }
        run.HighWaterMark = mark;

        var deadLetters = newest.DeadLetters.Where(d => pointInTime is null || d.LastModified is null || d.LastModified <= pointInTime).ToList();
        await StateLine.CopyAsync(connection, tables.DeadLetterTable, deadLetters, ct);
        run.DeadLetters = deadLetters.Count;

        var restoredHistory = history.Values.Where(h => pointInTime is null || h.CommittedAt <= pointInTime).OrderBy(h => h.Id).ToList();
        await StateLine.CopyAsync(connection, tables.KafkaOffsetHistory, restoredHistory, ct);
        if (restoredHistory.Count > 0)
        {
            await ExecuteAsync(connection, $"select setval(pg_get_serial_sequence('{tables.KafkaOffsetHistory}', 'id'), $1)", ct, restoredHistory[^1].Id);
        }
        run.KafkaOffsetHistory = restoredHistory.Count;

        var offsets = KafkaOffsetsAsOf(restoredHistory, pointInTime is null ? newest.Offsets : []);
        await StateLine.CopyAsync(connection, tables.KafkaOffsets, offsets, ct);
        run.KafkaOffsets = offsets.Count;

        await StoreIdentity.WriteAsync(connection, tables.Schema, restoredIdentity, ct);
        await transaction.CommitAsync(ct);
    }

    /// <summary>
    /// Where ingest resumes: per group/topic/partition the last advance restored (so ingest re-reads exactly what
    /// the restored events lack). Stores that predate the history table only have their latest offsets, used
    /// for a restore to the end of the chain.
    /// </summary>
    internal static List<OffsetRow> KafkaOffsetsAsOf(IReadOnlyList<OffsetHistoryRow> historyById, IReadOnlyList<OffsetRow> latestWithoutHistory)
    {
        var last = new Dictionary<(string, string, int), OffsetRow>();
        foreach (var row in historyById)
        {
            last[(row.Group, row.Topic, row.Partition)] = new OffsetRow(row.Group, row.Topic, row.Partition, row.NextOffset, row.CommittedAt, row.Resume, row.ClosedBefore);
        }
        foreach (var row in latestWithoutHistory)
        {
            last.TryAdd((row.Group, row.Topic, row.Partition), row);
        }
        return [.. last.Values];
    }

    private async Task<long> CopyEventsAsync(
        NpgsqlConnection connection, StoreTables tables, IReadOnlyList<BackupManifest> chain, IBackupTarget source,
        DateTimeOffset? pointInTime, Security.BackupKeyring keys, RestoreRun run, RunRecorder<RestoreRun> recorder, CancellationToken ct)
    {
        var present = await tables.EventColumnsAsync(connection, ct);
        var optional = EventRecord.OptionalColumns.Where(present.Contains).ToArray();
        var columns = string.Join(", ", EventRecord.RequiredColumns.Concat(optional));
        var record = new EventRecord();
        long highest = 0, restored = 0, seen = 0;

        // The target's event table is empty (checked, or emptied when forced). Truncated in this transaction, it can
        // take COPY FREEZE: rows arrive frozen and marked visible, so neither the projection rebuild's first read nor
        // autovacuum has to rewrite a gigabyte of pages for their hint bits afterwards.
        await ExecuteAsync(connection, $"truncate table {tables.Events}", ct);
        await using var importer = await connection.BeginBinaryImportAsync($"copy {tables.Events} ({columns}) from stdin (format binary, freeze)", ct);
        foreach (var manifest in chain)
        {
            foreach (var segment in manifest.Segments.Where(s => s.Kind == SegmentKinds.Events))
            {
                if (pointInTime is not null && segment.EarliestEventAt > pointInTime)
                {
                    seen += segment.Events; // nothing in it is old enough
                    continue;
                }
                await using var segmentSource = new SegmentSource(await source.OpenReadAsync(manifest.BackupId, segment.Name, ct), manifest, segment, keys);
                var hashing = segmentSource.Hashing;
                await using (var gzip = new GZipStream(segmentSource.Compressed, CompressionMode.Decompress, leaveOpen: true))
                {
                    using var lines = new NdjsonLineReader(gzip);
                    while (await lines.ReadLineAsync(ct))
                    {
                        record.Parse(lines.Line);
                        seen++;
                        if (pointInTime is null || record.Timestamp <= pointInTime)
                        {
                            await record.CopyAsync(importer, optional, ct);
                            highest = record.Sequence;
                            restored++;
                        }
                        if ((seen & 0xFFF) == 0)
                        {
                            run.EventsDone = seen;
                            await recorder.SaveProgressAsync(ct);
                        }
                    }
                }
                await segmentSource.DrainAsync(ct);
                // Checked before, checked again: a file changed since then must not slip into the database.
                if (!string.Equals(hashing.Sha256Hex(), segment.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    throw new BackupCorruptException(manifest.BackupId, [$"{manifest.BackupId}/{segment.Name}"],
                        [$"{manifest.BackupId}/{segment.Name}: changed while being restored"]);
                }
                _logger.LogInformation("Restore {Id}: {Set}/{Segment} replayed; {Seen}/{Total} events read, {Restored} restored",
                    run.Id, manifest.BackupId, segment.Name, seen, run.EventsTotal, restored);
            }
        }
        await importer.CompleteAsync(ct);
        run.EventsDone = restored;
        run.EventsTotal = restored;
        return highest;
    }

    /// <summary>Restoring into the live database would destroy it: compare the server (and cluster) and the database.</summary>
    private async Task<bool> SameDatabaseAsync(NpgsqlConnection targetConnection, CancellationToken ct)
    {
        await using var liveConnection = liveStore.Storage.Database.CreateConnection();
        await liveConnection.OpenAsync(ct);
        return await IdentityAsync(liveConnection, ct) == await IdentityAsync(targetConnection, ct);
    }

    private static async Task<string> IdentityAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        string server;
        try
        {
            // The cluster's identity survives every way of spelling its address; it needs pg_monitor or superuser.
            server = $"{await ScalarAsync(connection, "select system_identifier from pg_control_system()", ct)}";
        }
        catch (PostgresException)
        {
            server = $"{await ScalarAsync(connection, "select coalesce(inet_server_addr()::text, '') || ':' || coalesce(inet_server_port(), 0)", ct)}";
        }
        return $"{server}/{await ScalarAsync(connection, "select current_database()", ct)}";
    }

    private static async Task<IReadOnlyList<string>> OccupiedTablesAsync(NpgsqlConnection connection, string[] schemas, CancellationToken ct)
    {
        var tables = new List<string>();
        await using (var command = new NpgsqlCommand("select schemaname || '.' || tablename from pg_tables where schemaname = any($1) order by 1", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = schemas });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                tables.Add(reader.GetString(0));
            }
        }
        var occupied = new List<string>();
        foreach (var table in tables)
        {
            if ((bool)(await ScalarAsync(connection, $"select exists (select 1 from {table})", ct))!)
            {
                occupied.Add(table);
            }
        }
        return occupied;
    }

    private static async Task EmptyAsync(string connectionString, IReadOnlyList<string> tables, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await ExecuteAsync(connection, $"truncate table {string.Join(", ", tables)} cascade", ct);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct, params object?[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(ct);
    }

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}";
    }
}
