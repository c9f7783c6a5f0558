using System.Text.RegularExpressions;
using MaestroSla.Api.Alerts;
using MaestroSla.Backup.Runs;
using Marten;

namespace MaestroSla.Api.Operations;

/// <summary>Failed backup or restore runs of one kind and reason.</summary>
public readonly record struct FailedRuns(string Operation, string Reason, long Count);

/// <summary>
/// What the store's own records say, read by the sampler: the newest successful backup, failed backup and restore
/// runs by reason (from the BackupRun / RestoreRun documents every instance writes, so scheduled, API and CLI runs
/// on any replica all count), and the SLA burn-rate alerts active now. Null members: not read (see Error).
/// </summary>
public sealed partial record RecordsSample(
    DateTimeOffset At,
    DateTimeOffset? LastBackupAt,
    IReadOnlyList<FailedRuns> FailedRuns,
    string? LastBackupFailure,
    IReadOnlyList<ActiveSlaAlert> ActiveAlerts,
    string? Error)
{
    public const string BackupOperation = "backup";
    public const string RestoreOperation = "restore";

    public static async Task<RecordsSample> LoadAsync(IDocumentStore store, TimeProvider time, CancellationToken ct)
    {
        var at = time.GetUtcNow();
        try
        {
            await using var session = store.QuerySession();
            var lastBackup = (await session.Query<BackupRun>()
                .Where(r => r.Status == RunStatus.Succeeded)
                .OrderByDescending(r => r.StartedAt)
                .FirstOrDefaultAsync(ct))?.FinishedAt;
            var failedBackups = (await session.Query<BackupRun>()
                .Where(r => r.Status == RunStatus.Failed)
                .OrderBy(r => r.StartedAt)
                .ToListAsync(ct)).Select(r => new RunOutcome(r.StartedAt, r.Error)).ToList();
            var failedRestores = (await session.Query<RestoreRun>()
                .Where(r => r.Status == RunStatus.Failed)
                .ToListAsync(ct)).Select(r => new RunOutcome(r.StartedAt, r.Error)).ToList();
            var alerts = await session.Query<ServiceAlerts>().ToListAsync(ct);

            var failed = new List<FailedRuns>();
            Count(failed, BackupOperation, failedBackups);
            Count(failed, RestoreOperation, failedRestores);
            // The newest failure tells what to fix, if it came after the newest success.
            var newestFailure = failedBackups.Count > 0 ? failedBackups[^1] : (RunOutcome?)null;
            var lastFailure = newestFailure is { } f && (lastBackup is null || f.StartedAt > lastBackup) ? f.Error ?? "no error recorded" : null;
            return new RecordsSample(at, lastBackup, failed, lastFailure, alerts.SelectMany(a => a.Active).ToList(), null);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            return new RecordsSample(at, null, [], null, [], ex.Message);
        }
    }

    /// <summary>
    /// A short label with few values for a run's stored error text: the PostgreSQL SQLSTATE class when the error
    /// is PostgreSQL's ("postgres_53"), "no_space", "timeout", "checksum", "not_found", or "other".
    /// </summary>
    public static string ReasonOf(string? error) => error switch
    {
        null or "" => "other",
        _ when SqlState().Match(error) is { Success: true } m => "postgres_" + m.Groups[1].Value.ToLowerInvariant(),
        _ when error.Contains("No space left", StringComparison.OrdinalIgnoreCase) => "no_space",
        _ when error.Contains("timed out", StringComparison.OrdinalIgnoreCase) || error.Contains("timeout", StringComparison.OrdinalIgnoreCase) => "timeout",
        _ when error.Contains("checksum", StringComparison.OrdinalIgnoreCase) || error.Contains("hash", StringComparison.OrdinalIgnoreCase) => "checksum",
        _ when error.Contains("not found", StringComparison.OrdinalIgnoreCase) || error.Contains("does not exist", StringComparison.OrdinalIgnoreCase) => "not_found",
        _ => "other",
    };

    private static void Count(List<FailedRuns> into, string operation, List<RunOutcome> runs)
    {
        foreach (var group in runs.GroupBy(r => ReasonOf(r.Error)))
        {
            into.Add(new FailedRuns(operation, group.Key, group.LongCount()));
        }
    }

    private readonly record struct RunOutcome(DateTimeOffset StartedAt, string? Error);

    // Npgsql's PostgresException.Message is "SQLSTATE: text"; the class is its first two characters.
    [GeneratedRegex(@"^([0-9A-Z]{2})[0-9A-Z]{3}: ")]
    private static partial Regex SqlState();
}
