using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Maintenance;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Maintenance;

/// <summary>Maintenance windows through the API: scheduled, listed, cancelled, imported from .ics; bad input stores nothing.</summary>
[Collection(SharedServices.Name)]
public sealed class MaintenanceApiTests(ServicesFixture services)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly string[] SecondSunday = ["2026-10-11T02:00:00"];
    private const string October = "from=2026-09-30T22:00:00Z&to=2026-10-31T23:00:00Z";

    [Fact]
    public async Task a_recurring_window_is_listed_by_occurrence_cancelled_by_another_event_and_still_applies_as_of_before()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);

        var created = await app.Client.PostAsJsonAsync("/api/maintenance", new
        {
            service = "billing", start = "2026-10-04T02:00:00", timeZone = "Europe/Berlin", duration = "PT2H",
            rrule = "FREQ=WEEKLY;BYDAY=SU", exdate = SecondSunday, reason = "patching",
        });
        created.StatusCode.ShouldBe(HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var listed = await ListAsync(app, $"/api/maintenance?service=billing&{October}");
        listed.Select(o => (o.Start, o.End)).ShouldBe(
        [
            (At("2026-10-04T00:00:00Z"), At("2026-10-04T02:00:00Z")),
            (At("2026-10-18T00:00:00Z"), At("2026-10-18T02:00:00Z")),
            (At("2026-10-25T00:00:00Z"), At("2026-10-25T02:00:00Z")), // the night the clocks go back: still two hours
        ]);
        listed.ShouldAllBe(o => o.Id == id && o.Reason == "patching" && o.Author == "tests-admin" && o.Source == "api");
        (await ListAsync(app, "/api/maintenance?service=billing&month=2026-10&tz=Europe/Berlin")).ShouldBe(listed);
        var noService = await app.Client.GetAsync("/api/maintenance?month=2026-10");
        noService.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await noService.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty("service", out _).ShouldBeTrue();

        await Task.Delay(50);
        var beforeCancel = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        (await app.Client.DeleteAsync($"/api/maintenance/{id}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        (await app.Client.DeleteAsync($"/api/maintenance/{id}")).StatusCode.ShouldBe(HttpStatusCode.Conflict);
        (await app.Client.DeleteAsync("/api/maintenance/nosuchwindow")).StatusCode.ShouldBe(HttpStatusCode.NotFound);

        (await ListAsync(app, $"/api/maintenance?service=billing&{October}")).ShouldBeEmpty();
        (await ListAsync(app, $"/api/maintenance?service=billing&{October}&asOf={Uri.EscapeDataString(beforeCancel.ToString("O"))}")).Count.ShouldBe(3);

        // Never deleted: the stream holds the window and its cancellation.
        await using var session = store.Store.QuerySession();
        var events = await session.Events.FetchStreamAsync(MaintenanceSchedule.For("billing"));
        events.Select(e => e.Data.GetType().Name).ShouldBe(["MaintenanceScheduled", "MaintenanceCancelled"]);
    }

    [Fact]
    public async Task a_calendar_import_replaces_the_previous_one_and_honours_exdate()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        var oneOff = await app.Client.PostAsJsonAsync("/api/maintenance", new { service = "billing", start = "2026-10-10T10:00:00Z", end = "2026-10-10T10:45:00+00:00", reason = "db upgrade" });
        oneOff.StatusCode.ShouldBe(HttpStatusCode.Created);

        (await PutCalendarAsync(app, "billing", MaintenanceCalendarTests.WeeklySundayBerlin)).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await PutCalendarAsync(app, "billing", MaintenanceCalendarTests.DailyWithExdate)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var listed = await ListAsync(app, $"/api/maintenance?service=billing&{October}");
        listed.Select(o => (o.Start, o.End, o.Source)).ShouldBe(
        [
            (At("2026-10-02T02:00:00Z"), At("2026-10-02T03:30:00Z"), "calendar"),
            (At("2026-10-03T02:00:00Z"), At("2026-10-03T03:30:00Z"), "calendar"),
            (At("2026-10-05T02:00:00Z"), At("2026-10-05T03:30:00Z"), "calendar"),
            (At("2026-10-06T02:00:00Z"), At("2026-10-06T03:30:00Z"), "calendar"),
            (At("2026-10-10T10:00:00Z"), At("2026-10-10T10:45:00Z"), "api"),
        ]);
        listed[0].Reason.ShouldBe("nightly vacuum");
        listed[0].Id.ShouldBe("calendar:nightly");
    }

    [Fact]
    public async Task bad_windows_get_a_400_naming_the_field_and_store_nothing()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        (string Body, string Field)[] cases =
        [
            ("""{"service":"billing","start":"2026-10-04T02:00:00Z","end":"2026-10-04T01:00:00Z"}""", "end"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","end":"2026-10-04T04:00:00Z"}""", "start"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Mars/Olympus","duration":"PT2H","rrule":"FREQ=WEEKLY"}""", "timeZone"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Europe/Berlin","duration":"PT2H","rrule":"FREQ=SOMETIMES"}""", "rrule"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Europe/Berlin","duration":"PT30S","rrule":"FREQ=MINUTELY"}""", "rrule"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Europe/Berlin","duration":"two hours"}""", "duration"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Europe/Berlin","duration":"PT0S"}""", "duration"),
            ("""{"service":"bil|ling","start":"2026-10-04T02:00:00Z","end":"2026-10-04T04:00:00Z"}""", "service"),
            ("""{"service":"billing","start":"2026-10-04T02:00:00","timeZone":"Europe/Berlin","duration":"PT2H","exdate":"2026-10-11"}""", "exdate"),
            ("""[1,2]""", "body"),
            ("""{"service":""", "body"),
        ];

        foreach (var (body, field) in cases)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            var response = await app.Client.PostAsync("/api/maintenance", content);

            var problem = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, body + " → " + problem);
            JsonDocument.Parse(problem).RootElement.GetProperty("errors").TryGetProperty(field, out _).ShouldBeTrue(body + " → " + problem);
        }
        await using var session = store.Store.QuerySession();
        (await session.Events.FetchStreamAsync(MaintenanceSchedule.For("billing"))).ShouldBeEmpty();
    }

    [Fact]
    public async Task a_bad_calendar_gets_a_400_naming_the_calendar_and_keeps_the_imported_one()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        (await PutCalendarAsync(app, "billing", MaintenanceCalendarTests.DailyWithExdate)).StatusCode.ShouldBe(HttpStatusCode.OK);

        foreach (var bad in new[] { "hello", MaintenanceCalendarTests.DailyWithExdate.Replace("America/New_York", "Mars/Olympus", StringComparison.Ordinal) })
        {
            var response = await PutCalendarAsync(app, "billing", bad);
            var problem = await response.Content.ReadAsStringAsync();
            response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, problem);
            JsonDocument.Parse(problem).RootElement.GetProperty("errors").TryGetProperty("calendar", out _).ShouldBeTrue(problem);
        }
        (await ListAsync(app, $"/api/maintenance?service=billing&{October}")).Count.ShouldBe(4);
        await using var session = store.Store.QuerySession();
        (await session.Events.FetchStreamAsync(MaintenanceSchedule.For("billing"))).Count.ShouldBe(1);
    }

    [Fact]
    public async Task the_report_shows_uptime_adjusted_for_maintenance_beside_the_raw_figure()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        // Down 01:30–03:00 UTC on 25 October, the first 30 minutes inside that Sunday's window (00:00–02:00 UTC).
        const string downtime = """[{"v":1,"type":"downtime","service":"billing","start":"2026-10-25T01:30:00Z","end":"2026-10-25T03:00:00Z","reason":"disk"}]""";
        using (var content = new StringContent(downtime, Encoding.UTF8, "application/json"))
        {
            (await app.Client.PostAsync("/api/ingest", content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        await Task.Delay(50);
        var beforeWindows = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        (await app.Client.PostAsJsonAsync("/api/maintenance", new
        {
            service = "billing", start = "2026-10-04T02:00:00", timeZone = "Europe/Berlin", duration = "PT2H", rrule = "FREQ=WEEKLY;BYDAY=SU", reason = "patching",
        })).StatusCode.ShouldBe(HttpStatusCode.Created);
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

        var report = await app.Client.GetFromJsonAsync<JsonElement>("/api/reports/billing?month=2026-10&tz=Europe/Berlin");

        // 745 h in October in Berlin; 4 windows of 2 h; 90 min down of which 30 inside a window.
        report.GetProperty("uptime").GetProperty("uptimePercent").GetDouble().ShouldBe(100.0 * (745 - 1.5) / 745, 1e-9);
        var maintenance = report.GetProperty("maintenance");
        maintenance.GetProperty("windows").GetArrayLength().ShouldBe(4);
        maintenance.GetProperty("maintenanceSeconds").GetDouble().ShouldBe(8 * 3600);
        maintenance.GetProperty("downtimeSeconds").GetDouble().ShouldBe(5400);
        maintenance.GetProperty("excludedDowntimeSeconds").GetDouble().ShouldBe(1800);
        maintenance.GetProperty("uptimePercentRaw").GetDouble().ShouldBe(100.0 * (745 - 1.5) / 745, 1e-9);
        maintenance.GetProperty("uptimePercentAdjusted").GetDouble().ShouldBe(100.0 * 736 / 737, 1e-9);
        maintenance.GetProperty("uptimeMetAdjusted").GetBoolean().ShouldBeFalse(); // 99.864 % is below the default 99.9 %

        // As of before the windows were scheduled, the report had none.
        var earlier = await app.Client.GetFromJsonAsync<JsonElement>(
            $"/api/reports/billing?month=2026-10&tz=Europe/Berlin&asOf={Uri.EscapeDataString(beforeWindows.ToString("O"))}");
        earlier.GetProperty("maintenance").ValueKind.ShouldBe(JsonValueKind.Null);
        earlier.GetProperty("uptime").GetProperty("uptimePercent").GetDouble().ShouldBe(100.0 * (745 - 1.5) / 745, 1e-9);
    }

    private static async Task<HttpResponseMessage> PutCalendarAsync(RunningApp app, string service, string ics)
    {
        using var content = new StringContent(ics, Encoding.UTF8, "text/calendar");
        return await app.Client.PutAsync($"/api/maintenance/{service}/calendar", content);
    }

    private static async Task<List<MaintenanceOccurrence>> ListAsync(RunningApp app, string url)
    {
        var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<List<MaintenanceOccurrence>>(body, Json)!;
    }

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
}
