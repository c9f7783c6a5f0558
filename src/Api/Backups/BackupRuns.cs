using MaestroSla.Backup.Runs;
using Marten;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

public sealed record BackupRunList(IReadOnlyList<BackupRun> Backups, IReadOnlyList<RestoreRun> Restores);

/// <summary>Following backups and restores as they run: one run (what a 202 answer's Location points to), or the latest.</summary>
public static class BackupRunsEndpoints
{
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
}
