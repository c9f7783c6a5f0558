using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>The month in progress counts only the time elapsed: the rest of the month is not yet up.</summary>
[Collection(SharedServices.Name)]
public sealed class PartialPeriodTests(ServicesFixture services)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public void a_month_in_progress_ends_with_the_current_minute_and_remembers_where_it_will_end()
    {
        var now = new DateTimeOffset(2026, 12, 6, 9, 30, 20, TimeSpan.Zero);

        var period = ReportPeriod.Resolve(null, null, null, "Europe/Berlin", now).Period!;

        period.From.ShouldBe(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));
        period.To.ShouldBe(new DateTimeOffset(2026, 12, 6, 9, 31, 0, TimeSpan.Zero));
        period.ScheduledTo.ShouldBe(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero));
        period.Partial.ShouldBeTrue();

        var past = ReportPeriod.Resolve("2026-11", null, null, "Europe/Berlin", now).Period!;
        past.To.ShouldBe(new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero));
        past.Partial.ShouldBeFalse();

        // A range reaching past now is cut the same way; as of an earlier moment, at that moment.
        var range = ReportPeriod.Resolve(null, now.AddDays(-1), now.AddDays(1), null, now).Period!;
        range.To.ShouldBe(new DateTimeOffset(2026, 12, 6, 9, 31, 0, TimeSpan.Zero));
        period.ElapsedAt(new DateTimeOffset(2026, 12, 2, 0, 0, 0, TimeSpan.Zero)).To.ShouldBe(new DateTimeOffset(2026, 12, 2, 0, 1, 0, TimeSpan.Zero));

        // The last minute of the month is the whole month: final again.
        var last = ReportPeriod.Resolve("2026-12", null, null, "Europe/Berlin", new DateTimeOffset(2026, 12, 31, 22, 59, 30, TimeSpan.Zero)).Period!;
        last.To.ShouldBe(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.Zero));
        last.Partial.ShouldBeFalse();
    }

    [Fact]
    public async Task the_report_of_the_month_in_progress_is_partial_and_measures_uptime_mtbf_and_budgets_over_elapsed_time()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        var before = DateTimeOffset.UtcNow;
        var month = ReportPeriod.Resolve(null, null, null, "UTC", before).Period!;
        // One hour down, inside the elapsed part of the month (the month's first hour, or the last minutes before now
        // in the month's first hour).
        var downStart = month.From;
        var downEnd = Min(month.From.AddHours(1), Floor(before));
        var downtime = $"{{\"v\":1,\"type\":\"downtime\",\"service\":\"partial\",\"start\":\"{downStart:O}\",\"end\":\"{downEnd:O}\",\"reason\":\"deploy\"}}";
        using (var content = new StringContent($"[{downtime}]", Encoding.UTF8, "application/json"))
        {
            (await app.Client.PostAsync("/api/ingest", content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

        var response = await app.Client.GetAsync("/api/reports/partial?tz=UTC");
        var after = DateTimeOffset.UtcNow;
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var report = JsonSerializer.Deserialize<SlaReport>(body, Json)!;

        report.PeriodStatus.ShouldBe("partial");
        report.ScheduledTo.ShouldBe(month.ScheduledTo);
        report.From.ShouldBe(month.From);
        report.To.ShouldBeInRange(Floor(before).AddMinutes(1), Floor(after).AddMinutes(1));
        var elapsed = report.To - report.From;
        var down = downEnd - downStart;
        report.Uptime.Downtime.ShouldBe(down);
        report.Uptime.UptimePercent!.Value.ShouldBe(100.0 * (1 - (down / elapsed)), 1e-9);
        report.Uptime.Mtbf.ShouldBe(elapsed - down);
        report.Uptime.Mttr.ShouldBe(down);
        report.DowntimeBudget.Allowed.ShouldBe(elapsed.TotalMinutes * (1 - (report.Metrics.Single(m => m.Metric == "uptime").Target / 100)), 1e-9);
        report.DowntimeBudget.Consumed.ShouldBe(down.TotalMinutes, 1e-9);

        // A month that is over is final and whole.
        var previous = month.From.AddDays(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var final = JsonSerializer.Deserialize<SlaReport>(await app.Client.GetStringAsync($"/api/reports/partial?tz=UTC&month={previous}"), Json)!;
        final.PeriodStatus.ShouldBe("final");
        final.ScheduledTo.ShouldBeNull();
        final.To.ShouldBe(month.From);
    }

    private static DateTimeOffset Floor(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
