using MaestroSla.Backup.Targets;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MaestroSla.Api.Operations;

/// <summary>
/// The backup target answers a listing: the S3 bucket is reachable with our credentials, or the folder can be read
/// (one that does not exist yet counts as reachable: the first backup creates it).
/// </summary>
public sealed class BackupTargetHealthCheck(IBackupTarget target) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var sets = await target.ListSetsAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{target.Description}: {sets.Count} backup set(s)");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{target.Description} is not reachable: {ex.Message}");
        }
    }
}
