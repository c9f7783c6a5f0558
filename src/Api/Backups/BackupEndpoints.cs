using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using MaestroSla.Backup.Rekeying;
using MaestroSla.Backup.Replicating;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Retention;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using MaestroSla.Backup;
using Marten;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>A set on the backup target, complete or not, and whether it can be restored.</summary>
public sealed record BackupListing(
    string Id,
    bool Complete,
    string? Problem,
    BackupType? Type,
    string? ParentId,
    DateTimeOffset? CreatedAt,
    long? SequenceFrom,
    long? SequenceTo,
    long? Events,
    long? Bytes,
    int? Segments,
    bool Restorable,
    string? ChainProblem,
    BackupValidation? Validation,
    string? StoreId = null,
    int? Timeline = null,
    bool ThisStore = false,
    bool ThisTimeline = false,
    string? KeyId = null,
    string? SignedWith = null,
    string? FullBecause = null);

public sealed record BackupRunList(IReadOnlyList<BackupRun> Backups, IReadOnlyList<RestoreRun> Restores);

/// <summary>The body of POST /api/admin/restores.</summary>
/// <param name="TargetConnectionString">The database to restore into; or else</param>
/// <param name="Target">the name of one in Backup:RestoreTargets ("default" when neither is given).</param>
/// <param name="AllowOtherStore">Restore a backup of another event store (one named by id): refused without it.</param>
public sealed record RestoreCommand(string? BackupId, DateTimeOffset? PointInTime, string? TargetConnectionString, string? Target, bool Force = false, bool AllowOtherStore = false);

/// <param name="Rpo">Recovery point objective as it stands: the age of the newest restorable backup.</param>
/// <param name="Rto">Recovery time as last measured: the duration of the last successful restore.</param>
public sealed record BackupStatus(
    string Target,
    string? NewestBackup,
    DateTimeOffset? NewestBackupAt,
    TimeSpan? Rpo,
    string? LastRestore,
    DateTimeOffset? LastRestoreAt,
    TimeSpan? Rto,
    int IncompleteSets,
    BackupRun? LastBackupRun,
    string? StoreId = null,
    int? Timeline = null,
    DateTimeOffset? TimelineCreatedAt = null,
    string? RestoredFrom = null,
    string? KeyId = null,
    int OtherStoresSets = 0);

/// <summary>
/// Admin endpoints over the backup operations in src/Backup (admin role: ApiAccess covers /api/admin). Long runs
/// report progress through GET /api/admin/backups/runs; ?wait=false answers 202 at once with the run and lets it go on.
/// </summary>
public static class BackupEndpoints
{
    private const int MaxKeepDays = 36_500;

    [WolverinePost("/api/admin/backups")]
    public static async Task<IResult> Create(string? type, bool? wait, EventLogBackup backup, BackgroundRuns background, CancellationToken ct)
    {
        if (!Enum.TryParse<BackupType>(type ?? nameof(BackupType.Incremental), ignoreCase: true, out var backupType) || !Enum.IsDefined(backupType))
        {
            return Results.Problem(title: "type must be full, incremental or differential", statusCode: StatusCodes.Status400BadRequest);
        }
        return await Problems(async () => wait == false
            ? await StartAsync<BackupRun>(background, $"{backupType} backup", (token, started) => backup.RunAsync(backupType, "api", token, started), r => r.Id)
            : Results.Ok(await backup.RunAsync(backupType, "api", ct)));
    }

    /// <summary>Every set on the target; ?verify=true also checks every segment's checksum (reads everything).</summary>
    [WolverineGet("/api/admin/backups")]
    public static async Task<IReadOnlyList<BackupListing>> List(bool? verify, IBackupTarget target, BackupValidator validator, IDocumentStore store, CancellationToken ct)
    {
        var identity = await StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        var listings = new List<BackupListing>();
        foreach (var entry in catalog.Entries.Reverse())
        {
            var manifest = entry.Manifest;
            var chainProblem = entry.Complete ? catalog.ChainOf(entry.Id).Problem : null;
            var validation = verify == true && entry.Complete ? await validator.ValidateAsync(catalog, entry.Id, replay: false, ct) : null;
            listings.Add(new BackupListing(
                entry.Id, entry.Complete, entry.Problem, manifest?.Type, manifest?.ParentId, BackupCatalog.CreatedAt(entry),
                manifest?.SequenceFrom, manifest?.SequenceTo, manifest?.EventCount, manifest?.TotalBytes, manifest?.Segments.Count,
                entry.Complete && chainProblem is null && validation?.Valid != false, chainProblem, validation,
                manifest?.StoreId, manifest?.Timeline, manifest is not null && identity.SameStore(manifest), manifest is not null && identity.Made(manifest),
                manifest?.Encryption?.KeyId, manifest?.Signature is { } signature ? $"{signature.Algorithm} {signature.KeyId}" : null, manifest?.FullBecause));
        }
        return listings;
    }

    /// <summary>Checksums of every segment of the backup and its chain; ?replay=true also re-reads and counts the events.</summary>
    /// <remarks>Not named Validate: Wolverine runs methods of that name as middleware before every endpoint of the class.</remarks>
    [WolverinePost("/api/admin/backups/{id}/validate")]
    public static async Task<IResult> CheckBackup(string id, bool? replay, IBackupTarget target, BackupValidator validator, CancellationToken ct)
    {
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        return catalog.Find(id) is null
            ? NoSuchBackup(id)
            : Results.Ok(await validator.ValidateAsync(catalog, id, replay ?? false, ct));
    }

    /// <summary>
    /// Re-seals every set with the current key (Backup:Encryption:Key; the old ones in PreviousKeys) and re-signs
    /// its manifest: new segments beside the old, read back and checked, manifest last, then the old ones deleted.
    /// </summary>
    [WolverinePost("/api/admin/backups/rekey")]
    public static Task<IResult> Rekey(BackupRekey rekey, EventLogBackup backup, CancellationToken ct) =>
        Problems(async () => Results.Ok(await backup.ExclusivelyAsync(token => rekey.RunAsync(token), ct)));

    [WolverinePost("/api/admin/backups/retention")]
    public static async Task<IResult> Retention(double? keepDays, int? keepCount, BackupRetention retention, CancellationToken ct)
    {
        if (keepDays is null && keepCount is null)
        {
            return Results.Problem(title: "give keepDays, keepCount or both", statusCode: StatusCodes.Status400BadRequest);
        }
        if (keepDays < 0 || keepCount < 0)
        {
            return Results.Problem(title: "keepDays and keepCount must not be negative", statusCode: StatusCodes.Status400BadRequest);
        }
        // Beyond this, the age limit is no limit, and TimeSpan arithmetic overflows.
        if (keepDays is { } days && (!double.IsFinite(days) || days > MaxKeepDays))
        {
            return Results.Problem(title: $"keepDays must be at most {MaxKeepDays}", statusCode: StatusCodes.Status400BadRequest);
        }
        return Results.Ok(await retention.ApplyAsync(keepDays, keepCount, ct));
    }

    /// <summary>Copies the backup and its chain to Backup:Replica and validates the copy there.</summary>
    [WolverinePost("/api/admin/backups/{id}/replicate")]
    public static async Task<IResult> Replicate(string id, BackupTargets targets, BackupKeyring keys, ILogger<BackupReplicator> logger, CancellationToken ct)
    {
        if (targets.Replica is null)
        {
            return Results.Problem(title: "no replica target configured (Backup:Replica)", statusCode: StatusCodes.Status400BadRequest);
        }
        return await Problems(async () =>
        {
            var result = await new BackupReplicator(targets.Primary, targets.Replica, logger, keys).ReplicateAsync(id, ct);
            return result.Validation.Valid ? Results.Ok(result) : Results.UnprocessableEntity(result);
        });
    }

    [WolverinePost("/api/admin/restores")]
    public static async Task<IResult> Restore(
        RestoreCommand command, bool? wait, EventLogRestore restore, IOptions<BackupOptions> options, BackgroundRuns background, CancellationToken ct)
    {
        var connectionString = command.TargetConnectionString;
        if (!string.IsNullOrWhiteSpace(connectionString) && !string.IsNullOrWhiteSpace(command.Target))
        {
            return Results.Problem(title: "give targetConnectionString or target, not both", statusCode: StatusCodes.Status400BadRequest);
        }
        var field = "targetConnectionString";
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            var name = string.IsNullOrWhiteSpace(command.Target) ? "default" : command.Target;
            field = $"Backup:RestoreTargets:{name}";
            if (!options.Value.RestoreTargets.TryGetValue(name, out connectionString) || string.IsNullOrWhiteSpace(connectionString))
            {
                return Results.Problem(
                    title: $"no restore target named \"{name}\"",
                    detail: $"Give targetConnectionString, or configure Backup:RestoreTargets:{name}.",
                    statusCode: StatusCodes.Status400BadRequest);
            }
        }
        if (RestoreTargetConnection.Problem(connectionString, field) is { } badTarget)
        {
            return badTarget;
        }
        var request = new RestoreRequest(command.BackupId, command.PointInTime, connectionString, command.Force, command.AllowOtherStore);
        return await Problems(async () => wait == false
            ? await StartAsync<RestoreRun>(background, "restore", (token, started) => restore.RestoreAsync(request, "api", token, started), r => r.Id)
            : Results.Ok(await restore.RestoreAsync(request, "api", ct)));
    }

    /// <summary>One backup or restore run, as it stands (what a 202 answer's Location points to).</summary>
    [WolverineGet("/api/admin/backups/runs/{id}")]
    public static async Task<IResult> Run(string id, IQuerySession session, CancellationToken ct) =>
        await session.LoadAsync<BackupRun>(id, ct) is { } backup ? Results.Ok(backup)
        : await session.LoadAsync<RestoreRun>(id, ct) is { } restore ? Results.Ok(restore)
        : Results.Problem(title: $"no backup or restore run {id}", statusCode: StatusCodes.Status404NotFound);

    [WolverineGet("/api/admin/backups/runs")]
    public static async Task<BackupRunList> Runs(int? limit, IQuerySession session, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 50, 1, 1000);
        var backups = await session.Query<BackupRun>().OrderByDescending(r => r.StartedAt).Take(take).ToListAsync(ct);
        var restores = await session.Query<RestoreRun>().OrderByDescending(r => r.StartedAt).Take(take).ToListAsync(ct);
        return new BackupRunList(backups, restores);
    }

    [WolverineGet("/api/admin/backups/status")]
    public static async Task<BackupStatus> Status(IBackupTarget target, IQuerySession session, IDocumentStore store, BackupKeyring keys, TimeProvider time, CancellationToken ct)
    {
        var identity = await StoreIdentity.GetOrCreateAsync(store, ct);
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        // The recovery point of this store: another database's backups on a shared target restore nothing of ours.
        var newest = catalog.LatestFor(identity);
        var lastRestore = await session.Query<RestoreRun>()
            .Where(r => r.Status == RunStatus.Succeeded)
            .OrderByDescending(r => r.StartedAt).FirstOrDefaultAsync(ct);
        var lastRun = await session.Query<BackupRun>().OrderByDescending(r => r.StartedAt).FirstOrDefaultAsync(ct);
        return new BackupStatus(
            target.Description,
            newest?.BackupId,
            newest?.CreatedAt,
            newest is null ? null : time.GetUtcNow() - newest.CreatedAt,
            lastRestore?.Id,
            lastRestore?.StartedAt,
            lastRestore?.Duration,
            catalog.Entries.Count(e => !e.Complete),
            lastRun,
            identity.StoreId,
            identity.Timeline,
            identity.CreatedAt,
            identity.RestoredFrom,
            keys.Current?.Id,
            catalog.Complete.Count(m => !identity.SameStore(m)));
    }

    /// <summary>
    /// Starts a run that goes on after the request: 202 with the run (its id, status and progress) and its Location
    /// as soon as it is recorded, or the reason it could not start.
    /// </summary>
    private static async Task<IResult> StartAsync<T>(BackgroundRuns background, string what, Func<CancellationToken, Action<T>, Task<T>> run, Func<T, string> id)
    {
        var started = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = background.Start(what, token => run(token, r => started.TrySetResult(r)));
        if (await Task.WhenAny(started.Task, running) != started.Task)
        {
            await running; // failed before it was recorded: rethrow for Problems to answer
        }
        var recorded = await started.Task;
        return Results.Accepted($"/api/admin/backups/runs/{Uri.EscapeDataString(id(recorded))}", recorded);
    }

    private static IResult NoSuchBackup(string id) =>
        Results.Problem(title: $"no backup {id} on the backup target", statusCode: StatusCodes.Status404NotFound);

    /// <summary>What goes wrong in an operation, as the status code a client can act on.</summary>
    private static async Task<IResult> Problems(Func<Task<IResult>> operation)
    {
        try
        {
            return await operation();
        }
        catch (BackupInProgressException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (BackupNotRestorableException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status404NotFound);
        }
        catch (BackupOfAnotherStoreException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (BackupKeyConfigurationException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (BackupSealException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity);
        }
        catch (RestoreTargetNotEmptyException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (RestoreTargetIsLiveException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status409Conflict);
        }
        catch (BackupCorruptException ex)
        {
            return Results.Problem(title: ex.Message, statusCode: StatusCodes.Status422UnprocessableEntity,
                extensions: new Dictionary<string, object?> { ["badSegments"] = ex.BadSegments, ["problems"] = ex.Problems });
        }
    }
}
