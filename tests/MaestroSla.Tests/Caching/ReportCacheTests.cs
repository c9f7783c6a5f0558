using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Caching;

[Collection(SharedServices.Name)]
public sealed class ReportCacheTests(ServicesFixture services)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task a_report_asked_for_twice_is_computed_once_and_the_second_answer_is_a_counted_hit()
    {
        await using var app = await StartAsync();
        using var meters = new CacheMeters(app);
        await IngestAsync(app, "svc-a", 20);

        var url = RangeUrl("svc-a");
        var first = await GetReportAsync(app, url);
        var second = await GetReportAsync(app, url);

        meters.Sum("maestrosla.report_cache.misses").ShouldBe(1);
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(1);
        second.ShouldBeEquivalentTo(first);
        first.Requests.Total.ShouldBe(20);

        // Another format, endpoint or period is another report.
        (await app.Client.GetAsync(url + "&format=csv")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await app.Client.GetAsync(url + "&endpoint=" + Uri.EscapeDataString("GET /a"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        meters.Sum("maestrosla.report_cache.misses").ShouldBe(3);
        (await app.Client.GetStringAsync(url + "&format=csv")).ShouldStartWith("service,");
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(2);
        meters.Last("maestrosla.report_cache.entries").ShouldBe(3);
        meters.Last("maestrosla.report_cache.hit_ratio").ShouldBe(2.0 / 5, 1e-9);
    }

    [Fact]
    public async Task once_new_events_are_projected_the_next_report_is_recomputed_and_no_answer_is_older_than_the_projections()
    {
        await using var app = await StartAsync();
        using var meters = new CacheMeters(app);
        var url = RangeUrl("svc-a");
        await IngestAsync(app, "svc-a", 10);
        var before = await GetReportAsync(app, url);
        (await GetReportAsync(app, url)).ComputedAtSequence.ShouldBe(before.ComputedAtSequence);
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(1);

        await IngestAsync(app, "svc-a", 5);
        var after = await GetReportAsync(app, url);
        after.Requests.Total.ShouldBe(15);
        after.ComputedAtSequence.ShouldBeGreaterThan(before.ComputedAtSequence);
        meters.Sum("maestrosla.report_cache.misses").ShouldBe(2);

        // While ingest and the projection daemon move on, every answer is at least as new as the projection was
        // just before it was asked for.
        var store = app.App.Services.GetRequiredService<IDocumentStore>();
        for (var i = 0; i < 15; i++)
        {
            await PostAsync(app, "svc-a", 3);
            var projected = await ProjectionPositionAsync(store);
            var report = await GetReportAsync(app, url);
            report.ComputedAtSequence.ShouldBeGreaterThanOrEqualTo(projected, $"round {i}");
            await GetReportAsync(app, url);
        }
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        (await GetReportAsync(app, url)).Requests.Total.ShouldBe(15 + (15 * 3));
    }

    [Fact]
    public async Task targets_set_through_the_api_show_in_the_next_report_without_waiting_for_the_projection()
    {
        await using var app = await StartAsync();
        await IngestAsync(app, "svc-a", 10);
        var url = RangeUrl("svc-a");
        (await GetReportAsync(app, url)).Metrics.Single(m => m.Metric == "latency_p95").Target.ShouldBe(200);

        using var targets = new StringContent("{\"p95Ms\":1234}", Encoding.UTF8, "application/json");
        (await app.Client.PutAsync("/api/services/svc-a/targets", targets)).StatusCode.ShouldBe(HttpStatusCode.OK);

        (await GetReportAsync(app, url)).Metrics.Single(m => m.Metric == "latency_p95").Target.ShouldBe(1234);
    }

    [Fact]
    public async Task a_report_as_of_a_settled_moment_keeps_its_key_when_the_store_moves_on()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Caching:AsOfSettledAfter"] = "00:00:01" });
        using var meters = new CacheMeters(app);
        await IngestAsync(app, "svc-a", 10);
        await Task.Delay(1500);
        var asOf = DateTimeOffset.UtcNow.AddSeconds(-1.2);
        var url = RangeUrl("svc-a") + "&asOf=" + Uri.EscapeDataString(asOf.ToString("O", CultureInfo.InvariantCulture));
        var first = await GetReportAsync(app, url);

        await IngestAsync(app, "svc-a", 5);
        var second = await GetReportAsync(app, url);

        second.ShouldBeEquivalentTo(first);
        second.Requests.Total.ShouldBe(10);
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(1);
        (await GetReportAsync(app, RangeUrl("svc-a"))).Requests.Total.ShouldBe(15, "the live report moved on");
    }

    [Theory]
    [InlineData("Lru", "ConcurrentLru")]
    [InlineData("lfu", "ConcurrentLfu")]
    [InlineData("TTL", "ConcurrentTLru")]
    public async Task the_policy_is_chosen_in_configuration(string policy, string implementation)
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Caching:Policy"] = policy, ["Caching:Capacity"] = "50" });
        using var meters = new CacheMeters(app);
        var cache = app.App.Services.GetRequiredService<ReportCache>();
        cache.Implementation.ShouldBe(implementation);
        await IngestAsync(app, "svc-a", 3);

        await GetReportAsync(app, RangeUrl("svc-a"));
        await GetReportAsync(app, RangeUrl("svc-a"));
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(1);
    }

    [Fact]
    public async Task with_the_ttl_policy_a_report_older_than_the_ttl_is_computed_again()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Caching:Policy"] = "Ttl", ["Caching:Ttl"] = "00:00:00.300" });
        using var meters = new CacheMeters(app);
        await IngestAsync(app, "svc-a", 3);
        await GetReportAsync(app, RangeUrl("svc-a"));
        await GetReportAsync(app, RangeUrl("svc-a"));
        await Task.Delay(600);
        await GetReportAsync(app, RangeUrl("svc-a"));

        meters.Sum("maestrosla.report_cache.hits").ShouldBe(1);
        meters.Sum("maestrosla.report_cache.misses").ShouldBe(2);
    }

    [Fact]
    public async Task reports_beyond_the_capacity_are_evicted_and_counted()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Caching:Capacity"] = "3" });
        using var meters = new CacheMeters(app);
        await IngestAsync(app, "svc-a", 3);
        for (var day = 1; day <= 8; day++)
        {
            await GetReportAsync(app, $"/api/reports/svc-a?month=2026-{day:00}");
        }
        meters.Sum("maestrosla.report_cache.misses").ShouldBe(8);
        meters.Sum("maestrosla.report_cache.evictions").ShouldBeGreaterThanOrEqualTo(5);
        app.App.Services.GetRequiredService<ReportCache>().Count.ShouldBeLessThanOrEqualTo(3);
    }

    [Fact]
    public async Task the_current_month_of_every_service_is_warmed_at_start_so_the_status_view_is_answered_from_the_cache()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using (var first = await RunningApp.StartAsync(connectionString))
        {
            await IngestAsync(first, "svc-a", 3);
            await IngestAsync(first, "svc-b", 3);
        }

        await using var app = await RunningApp.StartAsync(connectionString);
        using var meters = new CacheMeters(app);
        var warmed = await app.App.Services.GetRequiredService<ReportCacheWarmer>().Warmed.WaitAsync(TimeSpan.FromSeconds(30));
        warmed.ShouldBe(2);
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
        var (hits, misses) = (meters.Sum("maestrosla.report_cache.hits"), meters.Sum("maestrosla.report_cache.misses"));

        var status = await app.Client.GetStringAsync("/api/status");
        status.ShouldContain("svc-a");
        status.ShouldContain("svc-b");
        (await app.Client.GetAsync("/api/reports/svc-b")).StatusCode.ShouldBe(HttpStatusCode.OK);
        (meters.Sum("maestrosla.report_cache.hits") - hits).ShouldBe(3, "both services in the status view and the bare report were warm");
        (meters.Sum("maestrosla.report_cache.misses") - misses).ShouldBe(0);
    }

    [Fact]
    public async Task the_cache_counters_are_scraped_from_metrics_under_their_prometheus_names()
    {
        await using var app = await StartAsync();
        await IngestAsync(app, "svc-a", 3);
        await GetReportAsync(app, RangeUrl("svc-a"));
        await GetReportAsync(app, RangeUrl("svc-a"));

        using var anonymous = app.CreateClient(null);
        var exposition = await anonymous.GetStringAsync("/metrics");
        foreach (var (name, value) in new[] { ("maestrosla_report_cache_hits_total", "1"), ("maestrosla_report_cache_misses_total", "1"), ("maestrosla_report_cache_entries", "1") })
        {
            exposition.Split('\n').ShouldContain(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.EndsWith(" " + value, StringComparison.Ordinal), name);
        }
        exposition.ShouldContain("# TYPE maestrosla_report_cache_hit_ratio gauge");
    }

    [Fact]
    public async Task with_the_cache_disabled_every_report_is_computed()
    {
        await using var app = await StartAsync(new Dictionary<string, string?> { ["Caching:Enabled"] = "false" });
        using var meters = new CacheMeters(app);
        await IngestAsync(app, "svc-a", 3);
        (await GetReportAsync(app, RangeUrl("svc-a"))).Requests.Total.ShouldBe(3);
        (await GetReportAsync(app, RangeUrl("svc-a"))).Requests.Total.ShouldBe(3);
        meters.Sum("maestrosla.report_cache.hits").ShouldBe(0);
        app.App.Services.GetRequiredService<ReportCache>().Enabled.ShouldBeFalse();
    }

    private async Task<RunningApp> StartAsync(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?> { ["Caching:WarmOnStart"] = "false" };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return await RunningApp.StartAsync(await services.CreateDatabaseAsync(), settings);
    }

    /// <summary>A range around now, so the data is inside it whatever the day of the month.</summary>
    private static string RangeUrl(string service)
    {
        var now = DateTimeOffset.UtcNow;
        string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("yyyy-MM-ddTHH:00:00Z", CultureInfo.InvariantCulture));
        return $"/api/reports/{service}?from={Iso(now.AddDays(-1))}&to={Iso(now.AddDays(1))}";
    }

    private static async Task IngestAsync(RunningApp app, string service, int requests)
    {
        await PostAsync(app, service, requests);
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
    }

    private static async Task PostAsync(RunningApp app, string service, int requests)
    {
        var now = DateTimeOffset.UtcNow;
        var messages = Enumerable.Range(0, requests)
            .Select(i => Encoding.UTF8.GetString(TestTraffic.Request(service, "GET /a", 10 + i, 200, now.AddSeconds(-i - 1))));
        using var content = new StringContent("[" + string.Join(",", messages) + "]", Encoding.UTF8, "application/json");
        (await app.Client.PostAsync("/api/ingest", content)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static async Task<long> ProjectionPositionAsync(IDocumentStore store)
    {
        await using var session = store.QuerySession();
        return (await StorePositions.ReadAsync(session, CancellationToken.None)).Projection;
    }

    private static async Task<SlaReport> GetReportAsync(RunningApp app, string url)
    {
        var response = await app.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<SlaReport>(body, Json)!;
    }

    /// <summary>The "MaestroSla" meter's measurements from this app only (meters are scoped to its IMeterFactory).</summary>
    private sealed class CacheMeters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, double> _sums = new();
        private readonly ConcurrentDictionary<string, double> _last = new();

        public CacheMeters(RunningApp app)
        {
            var factory = app.App.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ReportCache.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument, value));
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument, value));
            _listener.Start();
        }

        public double Sum(string name) => _sums.GetValueOrDefault(name);

        public double Last(string name)
        {
            _listener.RecordObservableInstruments();
            return _last.GetValueOrDefault(name);
        }

        private void Record(Instrument instrument, double value)
        {
            _sums.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value);
            _last[instrument.Name] = value;
        }

        public void Dispose() => _listener.Dispose();
    }
}
