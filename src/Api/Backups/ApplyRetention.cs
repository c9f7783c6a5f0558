using MaestroSla.Backup.Retention;
using Microsoft.AspNetCore.Mvc;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

/// <summary>Deletes the sets beyond ?keepDays and/or ?keepCount, never one a kept set's chain still needs.</summary>
public static class ApplyRetentionEndpoint
{
    private const int MaxKeepDays = 36_500;

    public static ProblemDetails Validate(double? keepDays, int? keepCount) =>
        keepDays is null && keepCount is null ? BadRequest("give keepDays, keepCount or both")
        : keepDays < 0 || keepCount < 0 ? BadRequest("keepDays and keepCount must not be negative")
        // Beyond this, the age limit is no limit, and TimeSpan arithmetic overflows.
        : keepDays is { } days && (!double.IsFinite(days) || days > MaxKeepDays) ? BadRequest($"keepDays must be at most {MaxKeepDays}")
        : WolverineContinue.NoProblems;

    [WolverinePost("/api/admin/backups/retention")]
    public static async Task<IResult> Post(double? keepDays, int? keepCount, BackupRetention retention, CancellationToken ct) =>
        Results.Ok(await retention.ApplyAsync(keepDays, keepCount, ct));

    private static ProblemDetails BadRequest(string title) => new() { Title = title, Status = StatusCodes.Status400BadRequest };
}
