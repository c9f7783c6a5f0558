using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace MaestroSla.Api.Backups;

/// <summary>
/// A restore target's connection string checked before a run starts: one Npgsql cannot parse ("Couldn't set port")
/// is the caller's mistake, answered 400 naming where it came from, never a failed run or a 500.
/// </summary>
public static class RestoreTargetConnection
{
    /// <param name="field">Where the string came from: the request's <c>targetConnectionString</c> or the configured target's key.</param>
    public static ProblemDetails? Problem(string connectionString, string field)
    {
        string? reason;
        try
        {
            var parsed = new NpgsqlConnectionStringBuilder(connectionString);
            reason = string.IsNullOrWhiteSpace(parsed.Host) ? "it names no Host" : null;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            reason = ex.Message;
        }
        // The string itself is not echoed: it may hold a password.
        return reason is null
            ? null
            : new ProblemDetails
            {
                Title = $"{field} is not a usable PostgreSQL connection string",
                Detail = $"{field}: {reason}",
                Status = StatusCodes.Status400BadRequest,
                Extensions = { ["field"] = field },
            };
    }
}
