using System.Collections.Concurrent;
using JasperFx.Events.Daemon;
using JasperFx.Events.Projections;
using MaestroSla.Ingest.Kafka;

namespace MaestroSla.Api.Operations;

/// <summary>One shard's failures as this process's async daemon published them.</summary>
public sealed record ShardFailures(long Errors, long Pauses, long Stops, bool Halted, long HaltedAtSequence, DateTimeOffset? LastAt, string? LastError);

/// <summary>
/// Listens to the async daemon of this process (its shard-state tracker) and counts, per shard, the states that
/// carried an exception, the pauses (the daemon retries later) and the stops. A shard is halted from a pause or
/// stop until the daemon reports it advancing again. Only a process that runs projections sees these;
/// every replica sees a halted shard through the progression rows instead (<see cref="OperationsSampler"/>).
/// With Projections:Daemon=HotCold, Wolverine starts the daemons of the shards it assigns to this node and
/// subscribes every <see cref="IObserver{ShardState}"/> in the container to them, this one included
/// (<see cref="OperationsRegistration"/>); with Solo it subscribes itself to Marten's daemon.
/// </summary>
public sealed class ProjectionDaemonMonitor(IServiceProvider services, DaemonMode mode, ILogger<ProjectionDaemonMonitor> logger)
    : IHostedService, IObserver<ShardState>
{
    private readonly ConcurrentDictionary<string, ShardFailures> _shards = new(StringComparer.Ordinal);
    private IDisposable? _subscription;

    public IReadOnlyDictionary<string, ShardFailures> Shards => _shards;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // The tracker is shared by the database's daemons, so subscribing before the daemon starts its agents misses nothing.
        if (mode == DaemonMode.Solo && services.GetService<IProjectionCoordinator>() is { } coordinator)
        {
            _subscription = coordinator.DaemonForMainDatabase().Tracker.Subscribe(this);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _subscription?.Dispose();
        return Task.CompletedTask;
    }

    public void OnNext(ShardState value)
    {
        var action = value.Action;
        var failed = value.Exception is not null;
        if (!failed && action is not (ShardAction.Paused or ShardAction.Stopped or ShardAction.Started or ShardAction.Updated))
        {
            return;
        }
        // A clean stop (shutdown, rebuild) is not a failure; one carrying an exception is.
        var halting = action == ShardAction.Paused || (action == ShardAction.Stopped && failed);
        if (!failed && !halting && !_shards.ContainsKey(value.ShardName))
        {
            return;
        }
        var error = failed ? IngestProgress.Describe(value.Exception) : value.PauseReason;
        _shards.AddOrUpdate(value.ShardName,
            _ => Next(new ShardFailures(0, 0, 0, false, 0, null, null), action, failed, halting, error, value),
            (_, current) => Next(current, action, failed, halting, error, value));
        if (halting)
        {
            logger.LogError(value.Exception, "Projection shard {Shard} {Action} at sequence {Sequence}", value.ShardName, action, value.Sequence);
        }
    }

    private static ShardFailures Next(ShardFailures current, ShardAction action, bool failed, bool halting, string? error, ShardState state) =>
        halting || failed
            ? current with
            {
                Errors = current.Errors + (failed ? 1 : 0),
                Pauses = current.Pauses + (action == ShardAction.Paused ? 1 : 0),
                Stops = current.Stops + (action == ShardAction.Stopped ? 1 : 0),
                Halted = halting || current.Halted,
                HaltedAtSequence = halting ? state.Sequence : current.HaltedAtSequence,
                LastAt = state.Timestamp,
                LastError = error ?? current.LastError,
            }
            // Past the sequence it halted at: running again, the counts stay. A restart or a heartbeat is no proof
            // (a poison event fails the restarted shard again at the same place).
            : current.Halted && action == ShardAction.Updated && state.Sequence > current.HaltedAtSequence ? current with { Halted = false } : current;

    public void OnCompleted()
    {
    }

    public void OnError(Exception error) => logger.LogWarning(error, "Projection shard tracker failed");
}
