using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Operations;

/// <summary>Scheduled backups that fail: counted by reason, the backup age Degraded past 1.5 × the interval, Healthy once one succeeds.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupHealthTests(ServicesFixture services, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task failing_scheduled_backups_are_counted_and_turn_backup_age_degraded_until_one_succeeds()
    {
        var parent = Directory.CreateTempSubdirectory("maestrosla-backup-health-");
        try
        {
            // A file where the backup folder should be: every backup fails until it is moved away.
            var folder = Path.Combine(parent.FullName, "backups");
            await File.WriteAllTextAsync(folder, "in the way");
            await using var app = await RunningApp.StartAsync(await services.CreateDatabaseAsync(), new Dictionary<string, string?>
            {
                ["Backup:Folder"] = folder,
                ["Backup:Schedule:IncrementalEvery"] = "00:00:02",
                ["Backup:Schedule:CheckEvery"] = "00:00:01",
                ["Operations:SampleInterval"] = "00:00:01",
            });

            var stale = await HealthReply.WaitAsync(app.Client, "/health", r => r.Components["backup-age"].Status == "Degraded" && r.Components["backup-age"].Description!.Contains("the newest run failed", StringComparison.Ordinal), Patience);
            output.WriteLine(stale.Components["backup-age"].Description);
            stale.Components["backup-age"].Status.ShouldBe("Degraded", stale.Body);
            stale.Components["backup-age"].Description!.ShouldContain("no successful backup yet");
            stale.Components["backup-age"].Description!.ShouldContain("the newest run failed");
            (await HealthReply.GetAsync(app.Client, "/ready")).Code.ShouldBe(System.Net.HttpStatusCode.OK);

            var scrape = await ScrapeUntilAsync(app.Client, s => PrometheusText.Sum(s, "maestrosla_backup_failed_runs_total", "operation=\"backup\"") >= 2);
            PrometheusText.Sum(scrape, "maestrosla_backup_failed_runs_total", "operation=\"backup\"").ShouldBeGreaterThanOrEqualTo(2, scrape);
            PrometheusText.Sum(scrape, "maestrosla_backup_interval_seconds").ShouldBe(2);
            PrometheusText.Series(scrape, "maestrosla_backup_age_seconds").ShouldBeEmpty("no backup succeeded yet");

            File.Delete(folder);

            var fresh = await HealthReply.WaitAsync(app.Client, "/health", r => r.Components["backup-age"].Status == "Healthy", Patience);
            output.WriteLine(fresh.Components["backup-age"].Description);
            fresh.Components["backup-age"].Status.ShouldBe("Healthy", fresh.Body);
            fresh.Components["backup-age"].Description!.ShouldContain("the newest backup is");
            var after = await ScrapeUntilAsync(app.Client, s => PrometheusText.Series(s, "maestrosla_backup_age_seconds").Any());
            PrometheusText.Series(after, "maestrosla_backup_age_seconds").ShouldHaveSingleItem().ShouldBeLessThan(3 * 2);
        }
        finally
        {
            parent.Delete(recursive: true);
        }
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient client, Func<string, bool> until)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var scrape = await client.GetStringAsync("/metrics");
            if (until(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }
            await Task.Delay(250);
        }
    }
}
