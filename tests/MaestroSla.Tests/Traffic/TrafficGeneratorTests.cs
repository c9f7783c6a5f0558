using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;
using Microsoft.Extensions.Time.Testing;
using Shouldly;

namespace MaestroSla.Tests.Traffic;

/// <summary>The one seeded traffic generator behind the demo, the tests' traffic and the benchmarks.</summary>
[Trait("Category", "Unit")]
public sealed class TrafficGeneratorTests
{
    private static readonly DateTimeOffset Day = new(2026, 11, 3, 0, 0, 0, TimeSpan.Zero);

    private static readonly TrafficShape Shop = new(
        [
            TrafficService.Of("checkout", ["GET /cart", "POST /pay"], medianMs: 60, errorRate: 0.02, requestsPerMinute: 5),
            TrafficService.Of("search", ["GET /search"], medianMs: 30, errorRate: 0.01, requestsPerMinute: 8),
        ],
        Seed: 42);

    [Fact]
    public void one_shape_gives_the_same_traffic_draw_for_draw_and_another_seed_other_traffic()
    {
        var first = new TrafficGenerator(Shop).Requests(2_000, Day, Day.AddDays(1)).ToList();
        var again = new TrafficGenerator(Shop).Requests(2_000, Day, Day.AddDays(1)).ToList();
        var reseeded = new TrafficGenerator(Shop with { Seed = 43 }).Requests(2_000, Day, Day.AddDays(1)).ToList();

        again.ShouldBe(first);
        reseeded.SequenceEqual(first).ShouldBeFalse();
        var paced = Wire(new TrafficGenerator(Shop).Minutes(Day, Day.AddHours(2)));
        paced.Count.ShouldBeGreaterThan(2_000);
        Wire(new TrafficGenerator(Shop).Minutes(Day, Day.AddHours(2))).ShouldBe(paced);
    }

    [Fact]
    public void counted_requests_fall_in_the_period_over_every_series_with_the_shapes_errors_and_latencies()
    {
        var shape = Shop with { ErrorStatuses = [500, 503], MaxLatencyMs = 200 };
        var requests = new TrafficGenerator(shape).Requests(20_000, Day, Day.AddHours(6)).ToList();

        requests.Count.ShouldBe(20_000);
        requests.ShouldAllBe(r => r.Timestamp >= Day && r.Timestamp < Day.AddHours(6) && r.Timestamp.UtcTicks % TimeSpan.TicksPerMillisecond == 0);
        requests.Select(r => (r.Service, r.Endpoint)).Distinct().Count().ShouldBe(3);
        // Series are drawn evenly: each of the three gets about a third.
        requests.CountBy(r => r.Endpoint).ShouldAllBe(c => c.Value > 6_000 && c.Value < 7_400);
        requests.Where(r => r.IsError).Select(r => r.StatusCode).Distinct().Order().ShouldBe([500, 503]);
        requests.Where(r => !r.IsError).ShouldAllBe(r => r.StatusCode == 200);
        var checkoutErrors = requests.Where(r => r.Service == "checkout").Average(r => r.IsError ? 1.0 : 0.0);
        checkoutErrors.ShouldBe(0.02, 0.006);
        requests.Max(r => r.LatencyMicros).ShouldBe(200_000, "cut at MaxLatencyMs");
        Median(requests.Where(r => r.Endpoint == "GET /search")).ShouldBe(30_000, 3_000);
    }

    [Fact]
    public void load_thins_counted_traffic_and_conditions_slow_it_down_and_break_it()
    {
        var shape = Shop with
        {
            // No traffic before 06:00, all of it after.
            Load = at => at.Hour < 6 ? 0 : 1,
            Conditions = (service, at) => service == 1 && at.Hour == 12 ? new TrafficConditions(Slowdown: 4, ErrorRate: 0.5) : TrafficConditions.Normal,
        };
        var requests = new TrafficGenerator(shape).Requests(30_000, Day, Day.AddDays(1)).ToList();

        requests.ShouldAllBe(r => r.Timestamp.Hour >= 6);
        var incident = requests.Where(r => r.Service == "search" && r.Timestamp.Hour == 12).ToList();
        var ordinary = requests.Where(r => r.Service == "search" && r.Timestamp.Hour != 12).ToList();
        Median(incident).ShouldBe(120_000, 20_000);
        Median(ordinary).ShouldBe(30_000, 3_000);
        incident.Average(r => r.IsError ? 1.0 : 0.0).ShouldBe(0.5, 0.12);
        requests.Where(r => r.Service == "checkout" && r.Timestamp.Hour == 12).Average(r => r.IsError ? 1.0 : 0.0).ShouldBeLessThan(0.08);
    }

    [Fact]
    public void paced_minutes_carry_the_rate_times_the_load_health_checks_that_fail_in_outages_and_the_outages_as_downtime()
    {
        var outage = new TrafficOutage(0, Day.AddHours(1).AddMinutes(10), Day.AddHours(1).AddMinutes(25), "deploy");
        var later = new TrafficOutage(0, Day.AddHours(5), Day.AddHours(5).AddMinutes(5), "outside the period");
        var shape = Shop with
        {
            Load = at => at.Hour == 0 ? 2 : 1,
            Outages = [outage, later],
            HealthCheckMinutes = 5,
        };
        var messages = new TrafficGenerator(shape).Minutes(Day, Day.AddHours(2)).ToList();

        var requests = messages.Where(m => m.Kind == MessageKind.Request).Select(m => m.Request).ToList();
        // checkout: 2 endpoints × 5/min; search: 8/min; twice that in the first hour.
        var firstHour = requests.Count(r => r.Service == "checkout" && r.Timestamp.Hour == 0);
        var secondHour = requests.Count(r => r.Service == "checkout" && r.Timestamp.Hour == 1);
        firstHour.ShouldBeInRange(1_080, 1_320);
        secondHour.ShouldBeInRange(515, 685);
        requests.Count(r => r.Service == "search").ShouldBeInRange(1_310, 1_570);
        requests.ShouldAllBe(r => r.Timestamp >= Day && r.Timestamp < Day.AddHours(2));

        var checks = messages.Where(m => m.Kind == MessageKind.Health).Select(m => m.Health!).ToList();
        checks.Count.ShouldBe(2 * 24, "every 5 minutes for 2 hours, per service");
        checks.ShouldAllBe(c => c.Component == "database" && c.Timestamp.Minute % 5 == 0);
        checks.Where(c => c.Status == HealthState.Unhealthy).Select(c => (c.Service, c.Timestamp)).ShouldBe(
            [("checkout", Day.AddHours(1).AddMinutes(10)), ("checkout", Day.AddHours(1).AddMinutes(15)), ("checkout", Day.AddHours(1).AddMinutes(20))]);

        messages.Where(m => m.Kind == MessageKind.Downtime).Select(m => m.Downtime).ShouldBe(
            [new DowntimeInterval("checkout", outage.Start, outage.End, "deploy")]);
    }

    [Fact]
    public void what_the_generator_encodes_decodes_to_what_it_generated()
    {
        var now = Day.AddDays(1);
        var decoder = new TelemetryDecoder(new ContractLimits(), new FakeTimeProvider(now));
        var shape = Shop with { Outages = [new TrafficOutage(1, Day.AddMinutes(3), Day.AddMinutes(9), "probe \"db\"")], HealthCheckMinutes = 10 };

        var messages = new TrafficGenerator(shape).Minutes(Day, Day.AddMinutes(30)).ToList();

        messages.Select(m => m.Kind).Distinct().Count().ShouldBe(3);
        foreach (var message in messages)
        {
            var decoded = decoder.Decode(TrafficGenerator.Encode(message));
            decoded.IsValid.ShouldBeTrue(decoded.Error);
            decoded.Kind.ShouldBe(message.Kind);
            switch (message.Kind)
            {
                case MessageKind.Request:
                    decoded.Request.ShouldBe(message.Request);
                    break;
                case MessageKind.Health:
                    decoded.Health.ShouldBe(message.Health);
                    break;
                default:
                    decoded.Downtime.ShouldBe(message.Downtime);
                    break;
            }
        }
    }

    [Fact]
    public void a_poisson_count_keeps_its_mean_far_past_where_e_to_the_minus_mean_underflows()
    {
        var random = new Random(3);
        var draws = Enumerable.Range(0, 2_000).Select(_ => random.Poisson(10_000)).ToList();

        draws.Average().ShouldBe(10_000, 10);
        Math.Sqrt(draws.Average(d => (d - 10_000.0) * (d - 10_000.0))).ShouldBe(100, 10);
        Enumerable.Range(0, 5_000).Average(_ => random.Poisson(3)).ShouldBe(3, 0.1);
    }

    private static List<string> Wire(IEnumerable<DecodedMessage> messages) =>
        [.. messages.Select(m => System.Text.Encoding.UTF8.GetString(TrafficGenerator.Encode(m)))];

    private static double Median(IEnumerable<RequestMetric> requests)
    {
        var sorted = requests.Select(r => r.LatencyMicros).Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
