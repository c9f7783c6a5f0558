using MaestroSla.Backup.Catalog;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

public static class CheckBackupEndpoint
{
    /// <summary>Checksums of every segment of the backup and its chain; ?replay=true also re-reads and counts the events.</summary>
    [WolverinePost("/api/admin/backups/{id}/validate")]
    public static async Task<IResult> Post(string id, bool? replay, IBackupTarget target, BackupValidator validator, CancellationToken ct)
    {
        var catalog = await BackupCatalog.LoadAsync(target, ct);
        return catalog.Find(id) is null
            ? Results.Problem(title: $"no backup {id} on the backup target", statusCode: StatusCodes.Status404NotFound)
            : Results.Ok(await validator.ValidateAsync(catalog, id, replay ?? false, ct));
    }
}
