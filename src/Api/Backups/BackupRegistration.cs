using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Rekeying;
using MaestroSla.Backup.Restoring;
using MaestroSla.Backup.Retention;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Security;
using MaestroSla.Backup.Targets;
using MaestroSla.Backup.Validating;
using Marten;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Backups;

/// <summary>The configured targets: the primary one every operation uses, and the replica copies go to.</summary>
public sealed class BackupTargets(IBackupTarget primary, IBackupTarget? replica) : IDisposable
{
    public IBackupTarget Primary { get; } = primary;
    public IBackupTarget? Replica { get; } = replica;

    public void Dispose()
    {
        (Primary as IDisposable)?.Dispose();
        (Replica as IDisposable)?.Dispose();
    }
}

public static class BackupRegistration
{
    /// <summary>Backups of the event log (section "Backup"): operations, admin endpoints' services and the schedule.</summary>
    public static IHostApplicationBuilder AddMaestroBackups(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<BackupOptions>().Bind(builder.Configuration.GetSection(BackupOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackupOptions>, BackupOptionsValidation>();
        services.AddOptions<BackupScheduleOptions>().Bind(builder.Configuration.GetSection(BackupScheduleOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BackupScheduleOptions>, BackupScheduleValidation>();
        services.TryAddSingleton(TimeProvider.System);

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BackupOptions>>().Value;
            return new BackupTargets(options.CreateTarget(), options.Replica?.CreateTarget());
        });
        services.AddSingleton(sp => sp.GetRequiredService<BackupTargets>().Primary);
        services.AddSingleton(sp => new EventLogBackup(
            sp.GetRequiredService<IDocumentStore>(),
            sp.GetRequiredService<IBackupTarget>(),
            sp.GetRequiredService<IOptions<BackupOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<EventLogBackup>()));
        services.AddSingleton(sp => new EventLogRestore(
            sp.GetRequiredService<IDocumentStore>(),
            sp.GetRequiredService<IBackupTarget>(),
            // The restored store is configured exactly like this one: same schema, events, projections.
            connectionString => MaestroStore.Configure(new StoreOptions(), connectionString, MaestroStore.RollupShards(builder.Configuration)),
            sp.GetRequiredService<IOptions<BackupOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<EventLogRestore>()));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<BackupOptions>>().Value.Keyring());
        services.AddSingleton(sp => new BackupValidator(sp.GetRequiredService<IBackupTarget>(), sp.GetRequiredService<BackupKeyring>()));
        services.AddSingleton(sp => new BackupRekey(
            sp.GetRequiredService<IBackupTarget>(),
            sp.GetRequiredService<IOptions<BackupOptions>>().Value,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<BackupRekey>()));
        services.AddSingleton(sp => new BackupRetention(sp.GetRequiredService<IBackupTarget>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<BackgroundRuns>();
        services.AddHostedService<ScheduledBackups>();
        return builder;
    }

    private sealed class BackupOptionsValidation : IValidateOptions<BackupOptions>
    {
        public ValidateOptionsResult Validate(string? name, BackupOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }

    private sealed class BackupScheduleValidation : IValidateOptions<BackupScheduleOptions>
    {
        public ValidateOptionsResult Validate(string? name, BackupScheduleOptions options) =>
            options.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
    }
}

/// <summary>
/// Backups and restores started with ?wait=false: they run on after the request, stop with the host, and report
/// through their run documents (GET /api/admin/backups/runs).
/// </summary>
public sealed class BackgroundRuns(IHostApplicationLifetime lifetime, ILogger<BackgroundRuns> logger)
{
    public Task Start(string what, Func<CancellationToken, Task> run)
    {
        var stopping = lifetime.ApplicationStopping;
        var task = Task.Run(() => run(stopping), stopping);
        // Already recorded in the run document; logged here too because nobody may be awaiting the task.
        task.ContinueWith(t => logger.LogError(t.Exception, "{What} failed", what),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task;
    }
}
