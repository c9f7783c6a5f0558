using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Validating;
using MaestroSla.Sla.Targets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace MaestroSla.Api.Security;

/// <summary>
/// The one place an exception becomes an answer: each as the status code a client can act on (400 fix the request,
/// 409 wait or change it, 404 nothing to restore, 422 the backup itself is bad). Endpoints just throw; anything not
/// named here stays a 500.
/// </summary>
public sealed class ExceptionProblems : IExceptionHandler
{
    public static ProblemDetails? For(Exception exception) => exception switch
    {
        BackupInProgressException or BackupOfAnotherStoreException or BackupKeyConfigurationException
            or RestoreTargetNotEmptyException or RestoreTargetIsLiveException => Problem(exception, StatusCodes.Status409Conflict),
        BackupNotRestorableException => Problem(exception, StatusCodes.Status404NotFound),
        BackupCorruptException corrupt => Problem(exception, StatusCodes.Status422UnprocessableEntity,
            new Dictionary<string, object?> { ["badSegments"] = corrupt.BadSegments, ["problems"] = corrupt.Problems }),
        BackupSealException => Problem(exception, StatusCodes.Status422UnprocessableEntity),
        OpenSloFormatException => new ProblemDetails
        {
            Title = "The OpenSLO documents cannot be imported", Detail = exception.Message, Status = StatusCodes.Status400BadRequest,
        },
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
