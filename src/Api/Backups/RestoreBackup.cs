using MaestroSla.Backup;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Runs;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>The body of POST /api/admin/restores.</summary>
/// <param name="TargetConnectionString">The database to restore into; or else</param>
/// <param name="Target">the name of one in Backup:RestoreTargets ("default" when neither is given).</param>
/// <param name="AllowOtherStore">Restore a backup of another event store (one named by id): refused without it.</param>
public sealed record RestoreCommand(string? BackupId, DateTimeOffset? PointInTime, string? TargetConnectionString, string? Target, bool Force = false, bool AllowOtherStore = false)
{
    /// <summary>The database to restore into, or what is wrong with the way the command names it.</summary>
    public (string? ConnectionString, ProblemDetails? Problem) Resolve(BackupOptions options)
    {
        if (!string.IsNullOrWhiteSpace(TargetConnectionString))
        {
            return string.IsNullOrWhiteSpace(Target)
                ? Checked(TargetConnectionString, "targetConnectionString")
                : (null, new ProblemDetails { Title = "give targetConnectionString or target, not both", Status = StatusCodes.Status400BadRequest });
        }
        var name = string.IsNullOrWhiteSpace(Target) ? "default" : Target;
        return options.RestoreTargets.TryGetValue(name, out var configured) && !string.IsNullOrWhiteSpace(configured)
            ? Checked(configured, $"Backup:RestoreTargets:{name}")
            : (null, new ProblemDetails
            {
                Title = $"no restore target named \"{name}\"",
                Detail = $"Give targetConnectionString, or configure Backup:RestoreTargets:{name}.",
                Status = StatusCodes.Status400BadRequest,
            });
    }

    private static (string? ConnectionString, ProblemDetails? Problem) Checked(string connectionString, string field) =>
        RestoreTargetConnection.Problem(connectionString, field) is { } problem ? (null, problem) : (connectionString, null);
}

/// <summary>Restores a backup (and its chain), up to a moment if asked, into another database; ?wait=false answers 202 at once.</summary>
public static class RestoreBackupEndpoint
{
    public static ProblemDetails Validate(RestoreCommand command, IOptions<BackupOptions> options) =>
        command.Resolve(options.Value).Problem ?? WolverineContinue.NoProblems;

    [WolverinePost("/api/admin/restores")]
    public static async Task<IResult> Post(
        RestoreCommand command, bool? wait, EventLogRestore restore, IOptions<BackupOptions> options, BackgroundRuns background, CancellationToken ct)
    {
        var request = new RestoreRequest(
            command.BackupId, command.PointInTime, command.Resolve(options.Value).ConnectionString!, command.Force, command.AllowOtherStore);
        return wait == false
            ? await background.AcceptedAsync<RestoreRun>("restore", (token, started) => restore.RestoreAsync(request, "api", token, started), r => r.Id)
            : Results.Ok(await restore.RestoreAsync(request, "api", ct));
    }
}
