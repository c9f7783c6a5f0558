using MaestroSla.Api.Alerts;
using Shouldly;

namespace MaestroSla.Tests.Alerts;

[Trait("Category", "Unit")]
public sealed class AlertTransitionsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly BurnRateRule Page1h = BurnRateRules.SreWorkbook[0];
    private static readonly BurnRateRule Page6h = BurnRateRules.SreWorkbook[1];

    private static RuleVerdict Verdict(BurnRateRule rule, bool fires) => new(rule, fires, fires ? 20 : 1, fires ? 30 : 0, new(1_000, 10), new(100, 3));

    private static ServiceAlerts Fold(IEnumerable<object> events)
    {
        var state = new ServiceAlerts { Id = ServiceAlerts.StreamKeyFor("checkout") };
        foreach (var @event in events)
        {
            switch (@event)
            {
                case SlaAlertRaised raised:
                    state.Apply(raised);
                    break;
                case SlaAlertResolved resolved:
                    state.Apply(resolved);
                    break;
            }
        }
        return state;
    }

    [Fact]
    public void a_rule_that_starts_firing_is_raised_with_its_burn_rates_and_windows()
    {
        var events = ServiceAlerts.Decide("checkout", null, [Verdict(Page1h, true), Verdict(Page6h, false)], T0);

        events.ShouldBe([new SlaAlertRaised("checkout", "page-1h", AlertSeverity.Page, 20, 30, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), T0)]);
    }

    [Fact]
    public void a_rule_that_keeps_firing_is_raised_once_and_resolved_when_it_stops()
    {
        var history = new List<object>();
        for (var minute = 0; minute < 5; minute++)
        {
            history.AddRange(ServiceAlerts.Decide("checkout", Fold(history), [Verdict(Page1h, true)], T0.AddMinutes(minute)));
        }
        history.Count.ShouldBe(1);
        Fold(history).Active.Single().Since.ShouldBe(T0);

        history.AddRange(ServiceAlerts.Decide("checkout", Fold(history), [Verdict(Page1h, false)], T0.AddMinutes(5)));
        history.AddRange(ServiceAlerts.Decide("checkout", Fold(history), [Verdict(Page1h, false)], T0.AddMinutes(6)));

        history.Count.ShouldBe(2);
        history[1].ShouldBe(new SlaAlertResolved("checkout", "page-1h", T0.AddMinutes(5)));
        Fold(history).Active.ShouldBeEmpty();
    }

    [Fact]
    public void nothing_is_resolved_that_was_never_raised()
    {
        ServiceAlerts.Decide("checkout", null, [Verdict(Page1h, false), Verdict(Page6h, false)], T0).ShouldBeEmpty();
    }

    [Fact]
    public void an_evaluation_older_than_the_last_change_changes_nothing()
    {
        var raised = Fold(ServiceAlerts.Decide("checkout", null, [Verdict(Page1h, true)], T0));

        ServiceAlerts.Decide("checkout", raised, [Verdict(Page1h, false)], T0.AddSeconds(-1)).ShouldBeEmpty();
        ServiceAlerts.Decide("checkout", raised, [Verdict(Page1h, false)], T0).Count.ShouldBe(1);
    }

    [Fact]
    public void an_active_alert_of_a_rule_no_longer_in_the_table_is_resolved()
    {
        var raised = Fold(ServiceAlerts.Decide("checkout", null, [Verdict(Page1h, true)], T0));

        ServiceAlerts.Decide("checkout", raised, [Verdict(Page6h, false)], T0.AddMinutes(1))
            .ShouldBe([new SlaAlertResolved("checkout", "page-1h", T0.AddMinutes(1))]);
    }
}
