using System.Diagnostics;
using System.Globalization;
using MaestroSla.Local.Demo;
using MaestroSla.Api.Store;
using MaestroSla.Backup;
using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Restoring;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Storage;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// Backup and restore throughput on the demo's data set: the synthetic month (2.4 million requests → about 37,000
/// events) stored through the real ingest batching and writer. Prints its figures; run it alone with
/// dotnet test -c Release --filter backup_and_restore_throughput --logger "console;verbosity=detailed"
/// </summary>
[Collection(SharedServices.Name)]
public sealed class BackupThroughputTests(ServicesFixture services, ITestOutputHelper output)
{
    [Fact]
    public async Task backup_and_restore_throughput_on_the_demo_month()
    {
        var source = await services.CreateDatabaseAsync();
        await using var store = BackupScenario.OpenStore(source);
        await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        var (events, requests) = await StoreSyntheticMonthAsync(store, source);
        var eventJsonBytes = await BackupScenario.CountAsync(source, "select sum(octet_length(data::text)) from maestro.mt_events");
        Report($"Data set: {events:N0} events ({requests:N0} requests), {Mb(eventJsonBytes)} MB of event JSON");

        foreach (var kind in new[] { TargetKinds.Folder, TargetKinds.S3 })
        {
            using var target = await TestTarget.CreateAsync(services, kind, smallParts: false);
            var options = new BackupOptions();
            var clock = Stopwatch.StartNew();
            var run = await new EventLogBackup(store, target.Target, options, TimeProvider.System).RunAsync(BackupType.Full, "benchmark", default);
            var backupSeconds = clock.Elapsed.TotalSeconds;
            run.Events.ShouldBe(events);
            Report($"{kind,-6} backup : {backupSeconds,6:F2} s  {run.Events / backupSeconds,9:N0} events/s  {Mb(eventJsonBytes) / backupSeconds,6:F1} MB/s of event JSON  →  {Mb(run.Bytes)} MB stored ({run.Segments} segments, {Mb(run.Bytes) / backupSeconds:F1} MB/s written, {(double)eventJsonBytes / run.Bytes:F1}x smaller)");

            var restored = await services.CreateDatabaseAsync();
            var restore = new EventLogRestore(store, target.Target, cs => MaestroStore.Configure(new StoreOptions(), cs), options, TimeProvider.System);
            var restoreRun = await restore.RestoreAsync(new RestoreRequest(run.BackupId, null, restored), "benchmark", default);
            restoreRun.EventsDone.ShouldBe(events);
            var replay = restoreRun.ReplayDuration!.Value.TotalSeconds;
            var total = restoreRun.Duration!.Value.TotalSeconds;
            Report($"{kind,-6} restore: {total,6:F2} s  {events / total,9:N0} events/s end to end (checksums + replay {replay:F2} s = {events / replay:N0} events/s, projection rebuild {restoreRun.RebuildDuration!.Value.TotalSeconds:F2} s)");
            (await BackupScenario.CountAsync(restored, "select count(*) from maestro.mt_events")).ShouldBe(events);
        }
    }

    private async Task<(long Events, long Requests)> StoreSyntheticMonthAsync(IDocumentStore store, string connectionString)
    {
        var now = DateTimeOffset.UtcNow;
        var month = new SyntheticMonth(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1));
        var decoder = new TelemetryDecoder(new ContractLimits(), TimeProvider.System);
        var writer = new IngestBatchWriter(store);
        var batch = new IngestBatch();
        long requests = 0, offset = 0;
        var clock = Stopwatch.StartNew();
        for (var day = 0; day < month.Days; day++)
        {
            var messages = month.Day(day, out var dayRequests);
            requests += dayRequests;
            // A quarter of a day per flush, as the demo feeds the broker.
            foreach (var quarter in messages.Chunk((messages.Count / 4) + 1))
            {
                foreach (var message in quarter)
                {
                    var decoded = decoder.Decode(message);
                    if (decoded.IsValid)
                    {
                        batch.Add(decoded);
                    }
                    else
                    {
                        batch.AddDeadLetter(DeadLetter.FromKafka("benchmark", 0, offset, message, decoded.Error!, now));
                    }
                    offset++;
                }
                await writer.WriteAsync(batch, default);
                batch.Clear();
            }
        }
        var events = await BackupScenario.CountAsync(connectionString, "select count(*) from maestro.mt_events");
        Report($"Stored the synthetic month in {clock.Elapsed.TotalSeconds:F1} s");
        return (events, requests);
    }

    private void Report(string line)
    {
        output.WriteLine(line);
        Console.WriteLine(line);
    }

    private static double Mb(long bytes) => Math.Round(bytes / 1_000_000.0, 1);
}
