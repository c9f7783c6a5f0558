using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Validating;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace MaestroSla.Api.Backups;

/// <summary>
/// The one place a backup operation's failure becomes an answer: each exception as the status code a client can act
/// on (409 wait or change the request, 404 nothing to restore, 422 the backup itself is bad). Endpoints just throw.
/// </summary>
public sealed class BackupProblems : IExceptionHandler
{
    public static ProblemDetails? For(Exception exception) => exception switch
    {
        BackupInProgressException or BackupOfAnotherStoreException or BackupKeyConfigurationException
            or RestoreTargetNotEmptyException or RestoreTargetIsLiveException => Problem(exception, StatusCodes.Status409Conflict),
        BackupNotRestorableException => Problem(exception, StatusCodes.Status404NotFound),
        BackupCorruptException corrupt => Problem(exception, StatusCodes.Status422UnprocessableEntity,
            new Dictionary<string, object?> { ["badSegments"] = corrupt.BadSegments, ["problems"] = corrupt.Problems }),
        BackupSealException => Problem(exception, StatusCodes.Status422UnprocessableEntity),
        _ => null,
    };

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (For(exception) is not { } problem)
        {
            return false;
        }
        await Results.Problem(problem).ExecuteAsync(httpContext);
        return true;
    }

    private static ProblemDetails Problem(Exception exception, int status, Dictionary<string, object?>? extensions = null)
    {
        var problem = new ProblemDetails { Title = exception.Message, Status = status };
        foreach (var (key, value) in extensions ?? [])
        {
            problem.Extensions[key] = value;
        }
        return problem;
    }
}
