using System.Text.Json.Serialization;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Identity;
using Marten;
using Microsoft.Extensions.Logging;

namespace MaestroSla.Backup.Runs;

[JsonConverter(typeof(CamelCaseEnumConverter<RunStatus>))]
public enum RunStatus
{
    Running,
    Succeeded,
    Failed,
}

/// <summary>
/// What every backup and restore attempt records, stored as it goes: progress while running, then the outcome.
/// </summary>
public abstract class RunRecord
{
    public required string Id { get; set; }
    public required string Trigger { get; set; }

    /// <summary>Where the run writes: the backup target, or the restored database (without credentials).</summary>
    public required string Target { get; set; }

    public RunStatus Status { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public TimeSpan? Duration { get; set; }
    public long EventsDone { get; set; }

    /// <summary>Upper bound while running (the sequence range may have holes), the exact count once done.</summary>
    public long EventsTotal { get; set; }

    /// <summary>Progress for people and progress bars: events done of the total, 0–100 (a restore's projection rebuild is not counted).</summary>
    public double Percent => Status == RunStatus.Succeeded ? 100 : EventsTotal <= 0 ? 0 : Math.Round(100.0 * EventsDone / EventsTotal, 1);

    public string? Error { get; set; }
}

/// <summary>One backup attempt.</summary>
public sealed class BackupRun : RunRecord
{
    public required BackupType RequestedType { get; set; }

    /// <summary>What was made: an incremental or differential with no full backup to build on becomes a full one.</summary>
    public BackupType Type { get; set; }

    public string? BackupId { get; set; }
    public string? ParentId { get; set; }

    /// <summary>Why a requested incremental or differential was made as a full one.</summary>
    public string? FullBecause { get; set; }

    public string? StoreId { get; set; }
    public int? Timeline { get; set; }
    public string? KeyId { get; set; }
    public long SequenceFrom { get; set; }
    public long SequenceTo { get; set; }
    public long Events { get; set; }
    public long Bytes { get; set; }
    public int Segments { get; set; }
}

/// <summary>One restore attempt. Its duration is the recovery time (RTO) the status endpoint reports.</summary>
public sealed class RestoreRun : RunRecord
{
    public string? BackupId { get; set; }
    public IReadOnlyList<string> Chain { get; set; } = [];
    public DateTimeOffset? PointInTime { get; set; }

    public required string Source { get; set; }

    /// <summary>The store the backup was made of, and its timeline there.</summary>
    public string? StoreId { get; set; }
    public int? SourceTimeline { get; set; }

    /// <summary>The restored copy's timeline: the same store, a new timeline, so its backups never chain onto the source's.</summary>
    public int? Timeline { get; set; }
    public int Streams { get; set; }
    public int DeadLetters { get; set; }
    public int KafkaOffsets { get; set; }
    public int KafkaOffsetHistory { get; set; }
    public long HighWaterMark { get; set; }
    public TimeSpan? ReplayDuration { get; set; }
    public TimeSpan? RebuildDuration { get; set; }
}

public static class BackupStoreConfiguration
{
    /// <summary>The run records backups and restores keep in the live store.</summary>
    public static StoreOptions ConfigureBackups(this StoreOptions options)
    {
        options.Schema.For<BackupRun>().Index(x => x.StartedAt);
        options.Schema.For<RestoreRun>().Index(x => x.StartedAt);
        options.ConfigureStoreIdentity();
        return options;
    }
}

/// <summary>
/// The lifecycle of a run: recorded as running at its start, saved at most every <see cref="Every"/> while it
/// progresses (visible through the API and across instances without a write per event), and saved with its outcome
/// and duration at the end, whatever that is.
/// </summary>
internal sealed class RunRecorder<T>(IDocumentStore store, T run, TimeProvider time, ILogger logger) where T : RunRecord
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(1);
    private readonly long _started = time.GetTimestamp();
    private long _lastSaved = long.MinValue;

    public T Run { get; } = run;

    /// <summary>Records the run as running, tells <paramref name="started"/>, runs <paramref name="work"/> and records its outcome.</summary>
    /// <param name="what">The run's kind in the log ("Backup", "Restore").</param>
    /// <param name="failed">Called after a failure is recorded, before it is rethrown (cleaning up what the run left).</param>
    public async Task RunAsync(string what, Action<T>? started, Func<Task> work, CancellationToken ct, Func<Task>? failed = null)
    {
        Run.Status = RunStatus.Running;
        await SaveAsync(ct);
        started?.Invoke(Run);
        try
        {
            await work();
            Run.Status = RunStatus.Succeeded;
        }
        catch (Exception ex)
        {
            Run.Status = RunStatus.Failed;
            Run.Error = ex.Message;
            logger.LogError(ex, "{What} {Id} failed", what, Run.Id);
            if (failed is not null)
            {
                await failed();
            }
            throw;
        }
        finally
        {
            Run.FinishedAt = time.GetUtcNow();
            Run.Duration = time.GetElapsedTime(_started);
            await SaveAsync(CancellationToken.None);
        }
    }

    public async Task SaveAsync(CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        session.Store(Run);
        await session.SaveChangesAsync(ct);
        _lastSaved = time.GetTimestamp();
    }

    public Task SaveProgressAsync(CancellationToken ct) =>
        _lastSaved != long.MinValue && time.GetElapsedTime(_lastSaved) < Every ? Task.CompletedTask : SaveAsync(ct);
}
