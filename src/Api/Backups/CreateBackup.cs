using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>
/// Makes a backup (?type=full|incremental|differential, incremental by default). Long runs report progress through
/// GET /api/admin/backups/runs; ?wait=false answers 202 at once with the run and lets it go on.
/// </summary>
public static class CreateBackupEndpoint
{
    public static ProblemDetails Validate(string? type) =>
        TypeOf(type) is null
            ? new ProblemDetails { Title = "type must be full, incremental or differential", Status = StatusCodes.Status400BadRequest }
            : WolverineContinue.NoProblems;

    [WolverinePost("/api/admin/backups")]
    public static async Task<IResult> Post(string? type, bool? wait, EventLogBackup backup, BackgroundRuns background, CancellationToken ct)
    {
        var backupType = TypeOf(type)!.Value;
        return wait == false
            ? await background.AcceptedAsync<BackupRun>($"{backupType} backup", (token, started) => backup.RunAsync(backupType, "api", token, started), r => r.Id)
            : Results.Ok(await backup.RunAsync(backupType, "api", ct));
    }

    private static BackupType? TypeOf(string? type) =>
        Enum.TryParse<BackupType>(type ?? nameof(BackupType.Incremental), ignoreCase: true, out var backupType) && Enum.IsDefined(backupType)
            ? backupType
            : null;
}
