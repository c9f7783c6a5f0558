using MaestroSla.Backup.Replicating;
using MaestroSla.Backup.Security;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>Copies the backup and its chain to Backup:Replica and validates the copy there.</summary>
public static class ReplicateBackupEndpoint
{
    public static ProblemDetails Validate(BackupTargets targets) =>
        targets.Replica is null
            ? new ProblemDetails { Title = "no replica target configured (Backup:Replica)", Status = StatusCodes.Status400BadRequest }
            : WolverineContinue.NoProblems;

    [WolverinePost("/api/admin/backups/{id}/replicate")]
    public static async Task<IResult> Post(string id, BackupTargets targets, BackupKeyring keys, ILogger<BackupReplicator> logger, CancellationToken ct)
    {
        var result = await new BackupReplicator(targets.Primary, targets.Replica!, logger, keys).ReplicateAsync(id, ct);
        return result.Validation.Valid ? Results.Ok(result) : Results.UnprocessableEntity(result);
    }
}
