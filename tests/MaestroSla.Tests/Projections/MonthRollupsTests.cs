using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Reports;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Shouldly;

namespace MaestroSla.Tests.Projections;

/// <summary>
/// The whole service's month rollup: what it holds, how a report reads a month through it (less the hours outside the
/// report's window), and that a store whose days were folded before months were kept still reports every request.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class MonthRollupsTests(ServicesFixture services)
{
    private const string Service = "ledger";
    private static readonly string[] Endpoints = ["GET /entries", "POST /entries"];
    private static readonly DateTimeOffset November = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private sealed record Request(string Endpoint, DateTimeOffset At, long Micros, bool IsError);

    [Fact]
    public async Task reports_of_months_in_any_zone_count_exactly_what_the_raw_requests_say_with_or_without_month_rollups()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        var store = harness.Store;
        // Late October to early December, every 7 minutes: both month boundaries and the hours around them have traffic.
        var random = new Random(11);
        var requests = new List<Request>();
        for (var at = November.AddDays(-2).AddMinutes(3); at < November.AddMonths(1).AddDays(2); at = at.AddMinutes(7))
        {
            foreach (var endpoint in Endpoints)
            {
                requests.Add(new Request(endpoint, at, 1_000 + random.Next(400_000), random.Next(50) == 0));
            }
        }
        await AppendAsync(store, requests);
        using var daemon = await store.BuildProjectionDaemonAsync();
        await daemon.StartAllAsync();
        await store.WaitForNonStaleProjectionDataAsync(Patience);

        await using (var session = store.QuerySession())
        {
            var month = await session.LoadAsync<LatencyRollup>(LatencyRollup.IdFor(Service, LatencyRollup.AllEndpoints, RollupGrain.Month, November));
            month.ShouldNotBeNull();
            month.Requests.ShouldBe(requests.Count(r => r.At >= November && r.At < November.AddMonths(1)));
            var days = await session.Query<LatencyRollup>()
                .Where(r => r.Grain == RollupGrain.Day && r.Endpoint == LatencyRollup.AllEndpoints && r.Start >= November && r.Start < November.AddMonths(1))
                .ToListAsync();
            days.Sum(d => d.Requests).ShouldBe(month.Requests);
            (await session.Query<LatencyRollup>().Where(r => r.Grain == RollupGrain.Month && r.Endpoint != LatencyRollup.AllEndpoints).CountAsync())
                .ShouldBe(0, "only the whole service keeps months");
        }
        await ShouldMatchAsync(store, requests);

        // A store projected before months were kept: no month rollups. Reports read the days instead, and the next page
        // of a month makes its rollup from every stored day of it, not from the page alone.
        await using (var session = store.LightweightSession())
        {
            session.DeleteWhere<LatencyRollup>(r => r.Grain == RollupGrain.Month);
            await session.SaveChangesAsync();
        }
        await ShouldMatchAsync(store, requests);
        var late = new Request(Endpoints[0], November.AddDays(20).AddSeconds(10), 2_500_000, IsError: true);
        requests.Add(late);
        await AppendAsync(store, [late]);
        await store.WaitForNonStaleProjectionDataAsync(Patience);
        await using (var session = store.QuerySession())
        {
            var month = await session.LoadAsync<LatencyRollup>(LatencyRollup.IdFor(Service, LatencyRollup.AllEndpoints, RollupGrain.Month, November));
            month.ShouldNotBeNull();
            month.Requests.ShouldBe(requests.Count(r => r.At >= November && r.At < November.AddMonths(1)));
        }
        await ShouldMatchAsync(store, requests);
    }

    /// <summary>The whole service's and one endpoint's figures over UTC and zoned months and an odd window, against the raw requests.</summary>
    private static async Task ShouldMatchAsync(DocumentStore store, List<Request> requests)
    {
        (DateTimeOffset From, DateTimeOffset To, string Zone)[] windows =
        [
            (November, November.AddMonths(1), "UTC"),
            (new DateTimeOffset(2026, 11, 1, 4, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero), "America/New_York"),
            (new DateTimeOffset(2026, 10, 31, 23, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 30, 23, 0, 0, TimeSpan.Zero), "Europe/Berlin"),
            (November.AddDays(9).AddHours(7).AddMinutes(13), November.AddDays(16).AddHours(12).AddMinutes(54), "UTC"),
        ];
        foreach (var (from, to, zone) in windows)
        {
            foreach (var endpoint in (string?[])[null, Endpoints[0]])
            {
                await using var session = store.QuerySession();
                var report = await SlaReportBuilder.BuildAsync(session, new SlaOptions(), Service, from, to, zone, null, CancellationToken.None, endpoint);
                var inside = requests.Where(r => r.At >= from && r.At < to && (endpoint is null || r.Endpoint == endpoint)).ToList();
                var what = $"{endpoint ?? "*"} {from:O}..{to:O}";
                report.Requests.Total.ShouldBe(inside.Count, what);
                report.Requests.Errors.ShouldBe(inside.Count(r => r.IsError), what);
                var expected = new LatencyHistogram();
                inside.ForEach(r => expected.Record(r.Micros));
                report.Latency.ShouldBe(new LatencyFigures(
                    expected.PercentileMs(50), expected.PercentileMs(90), expected.PercentileMs(95), expected.PercentileMs(99),
                    expected.PercentileMs(99.9), expected.MaxMs), what);
            }
        }
    }

    /// <summary>One event per endpoint and UTC day, each minute with its own histogram, as ingest stores them.</summary>
    private static async Task AppendAsync(DocumentStore store, List<Request> requests)
    {
        await using var session = store.LightweightSession();
        foreach (var day in requests.GroupBy(r => (r.Endpoint, Day: LatencyRollup.StartOf(RollupGrain.Day, r.At))))
        {
            var minutes = day.GroupBy(r => LatencyRollup.StartOf(RollupGrain.Minute, r.At)).OrderBy(m => m.Key).Select(minute =>
            {
                var histogram = new LatencyHistogram();
                foreach (var request in minute)
                {
                    histogram.Record(request.Micros);
                }
                return new MinuteOfRequests(minute.Key, minute.Count(), minute.Count(r => r.IsError), histogram.Encode());
            }).ToList();
            session.Events.Append(IngestStreams.For(Service, IngestStreams.HttpSlot(0)), new RequestsRecorded(Service, day.Key.Endpoint, minutes));
        }
        await session.SaveChangesAsync();
    }
}
