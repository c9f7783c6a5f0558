using MaestroSla.Api.Alerts;
using Shouldly;

namespace MaestroSla.Tests.Alerts;

[Trait("Category", "Unit")]
public sealed class BurnRateRulesTests
{
    private static readonly BurnRateRule Page1h = BurnRateRules.SreWorkbook.Single(r => r.Name == "page-1h");
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan FiveMinutes = TimeSpan.FromMinutes(5);

    private static RuleVerdict Page1hVerdict(WindowCounts longWindow, WindowCounts shortWindow, decimal target = 99.95m, long minimumRequests = 100) =>
        BurnRateRules.Evaluate([Page1h], new Dictionary<TimeSpan, WindowCounts> { [Hour] = longWindow, [FiveMinutes] = shortWindow }, target, minimumRequests)
            .Single();

    [Fact]
    public void the_rules_are_the_sre_workbook_table_for_a_30_day_budget()
    {
        BurnRateRules.SreWorkbook.Select(r => (r.Name, r.Severity, r.BurnRate, r.LongWindow, r.ShortWindow)).ShouldBe(
        [
            ("page-1h", AlertSeverity.Page, 14.4m, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)),
            ("page-6h", AlertSeverity.Page, 6m, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30)),
            ("ticket-1d", AlertSeverity.Ticket, 3m, TimeSpan.FromDays(1), TimeSpan.FromHours(2)),
            ("ticket-3d", AlertSeverity.Ticket, 1m, TimeSpan.FromDays(3), TimeSpan.FromHours(6)),
        ]);
        // 6 h is both the page's long window and the 3-day ticket's short one.
        BurnRateRules.WindowsOf(BurnRateRules.SreWorkbook).Count.ShouldBe(7);
    }

    [Fact]
    public void a_rule_fires_at_exactly_its_burn_rate_and_not_one_error_below()
    {
        // 99.95 % leaves a 0.05 % budget; 14.4 × 0.05 % = 0.72 %, i.e. 72 errors in 10,000 requests.
        var atThreshold = Page1hVerdict(new(10_000, 72), new(1_000, 8));  // 0.8 % short: above
        atThreshold.Fires.ShouldBeTrue();
        atThreshold.BurnRateLong.ShouldBe(14.4, tolerance: 1e-9);
        atThreshold.BurnRateShort.ShouldBe(16.0, tolerance: 1e-9);

        Page1hVerdict(new(10_000, 71), new(1_000, 8)).Fires.ShouldBeFalse();
        Page1hVerdict(new(10_000, 72), new(1_000, 7)).Fires.ShouldBeFalse();   // short at 0.7 %: below
        Page1hVerdict(new(10_000, 72), new(10_000, 72)).Fires.ShouldBeTrue(); // both exactly at the threshold
    }

    [Theory]
    [InlineData(99.9, 10_000, 144)]   // 1 − 0.999 is not 0.001 in binary floating point: 14.399999… would miss
    [InlineData(99.0, 1_000, 144)]
    [InlineData(99.95, 100_000, 720)]
    public void exact_thresholds_hold_for_targets_a_double_cannot_represent(double target, long requests, long errors)
    {
        Page1hVerdict(new(requests, errors), new(requests, errors), (decimal)target).Fires.ShouldBeTrue();
        Page1hVerdict(new(requests, errors - 1), new(requests, errors), (decimal)target).Fires.ShouldBeFalse();
    }

    [Fact]
    public void both_windows_must_burn_fast_enough()
    {
        var burning = new WindowCounts(10_000, 500);
        var calm = new WindowCounts(10_000, 10);

        Page1hVerdict(burning, burning).Fires.ShouldBeTrue();
        // The errors stopped: the hour still burns, the last five minutes do not — the alert resets.
        Page1hVerdict(burning, calm).Fires.ShouldBeFalse();
        // A spike that has not yet cost 2 % of the budget.
        Page1hVerdict(calm, burning).Fires.ShouldBeFalse();
        // No traffic in the short window means no burn there.
        Page1hVerdict(burning, new WindowCounts(0, 0)).Fires.ShouldBeFalse();
    }

    [Fact]
    public void the_traffic_guard_needs_the_minimum_of_requests_in_the_long_window()
    {
        Page1hVerdict(new(99, 99), new(99, 99)).Fires.ShouldBeFalse();
        Page1hVerdict(new(100, 100), new(10, 10)).Fires.ShouldBeTrue();
        // The guard is on the long window only: a quiet short window with errors still counts.
        Page1hVerdict(new(1_000, 100), new(3, 1)).Fires.ShouldBeTrue();
        Page1hVerdict(new(1_000, 100), new(3, 1), minimumRequests: 1_001).Fires.ShouldBeFalse();
    }

    [Fact]
    public void missing_windows_and_error_free_windows_never_fire()
    {
        var verdicts = BurnRateRules.Evaluate(BurnRateRules.SreWorkbook, new Dictionary<TimeSpan, WindowCounts>(), 99.95m, 0);
        verdicts.ShouldAllBe(v => !v.Fires && v.BurnRateLong == 0 && v.BurnRateShort == 0);

        Page1hVerdict(new(10_000, 0), new(10_000, 0), minimumRequests: 0).Fires.ShouldBeFalse();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100.01)]
    public void a_target_outside_0_to_100_percent_is_refused(double target) =>
        Should.Throw<ArgumentOutOfRangeException>(() => Page1hVerdict(new(1, 1), new(1, 1), (decimal)target));

    [Fact]
    public void a_100_percent_target_has_no_budget_so_any_error_fires()
    {
        var verdict = Page1hVerdict(new(1_000_000, 1), new(1_000, 1), target: 100m);
        verdict.Fires.ShouldBeTrue();
        verdict.BurnRateLong.ShouldBe(double.MaxValue);
        Page1hVerdict(new(1_000_000, 0), new(1_000, 0), target: 100m).Fires.ShouldBeFalse();
        Page1hVerdict(new(99, 1), new(99, 1), target: 100m).Fires.ShouldBeFalse(); // the traffic guard still holds
    }

    [Fact]
    public void each_rule_reads_its_own_windows()
    {
        var counts = new Dictionary<TimeSpan, WindowCounts>
        {
            [TimeSpan.FromHours(1)] = new(60_000, 100),     // 3.3×
            [TimeSpan.FromMinutes(5)] = new(5_000, 100),    // 40×
            [TimeSpan.FromHours(6)] = new(360_000, 1_100),  // 6.1×
            [TimeSpan.FromMinutes(30)] = new(30_000, 100),  // 6.7×
            [TimeSpan.FromDays(1)] = new(1_440_000, 1_100), // 1.5×
            [TimeSpan.FromHours(2)] = new(120_000, 100),
            [TimeSpan.FromDays(3)] = new(4_320_000, 2_200), // 1.02×
        };

        var verdicts = BurnRateRules.Evaluate(BurnRateRules.SreWorkbook, counts, 99.95m, 100);

        verdicts.Where(v => v.Fires).Select(v => v.Rule.Name).ShouldBe(["page-6h", "ticket-3d"]);
    }
}
