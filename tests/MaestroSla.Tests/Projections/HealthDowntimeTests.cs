using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Projections.Uptime;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Trait("Category", "Unit")]
public sealed class HealthDowntimeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<HealthChecked> Checks(string component, params HealthState[] states) =>
        states.Select((s, i) => new HealthChecked("svc", component, s, 1, T0.AddMinutes(i))).ToList();

    private const HealthState U = HealthState.Unhealthy;
    private const HealthState H = HealthState.Healthy;
    private const HealthState D = HealthState.Degraded;

    [Fact]
    public void a_component_failing_enough_consecutive_checks_is_down_from_the_first_failure_to_the_next_pass()
    {
        var down = HealthDowntime.Derive(Checks("db", H, U, U, U, H, H), threshold: 3, until: T0.AddHours(1));

        down.ShouldBe([(new Interval(T0.AddMinutes(1), T0.AddMinutes(4)), "db")]);
    }

    [Fact]
    public void fewer_failures_than_the_threshold_are_noise_and_degraded_counts_as_up()
    {
        HealthDowntime.Derive(Checks("db", U, U, H, U, U, D, U), threshold: 3, until: T0.AddHours(1)).ShouldBeEmpty();
    }

    [Fact]
    public void a_component_still_failing_at_the_end_is_down_until_then_and_checks_may_arrive_out_of_order()
    {
        var checks = Checks("db", H, H, U, U, U);
        checks.Reverse();

        var down = HealthDowntime.Derive(checks, threshold: 3, until: T0.AddMinutes(30));

        down.ShouldBe([(new Interval(T0.AddMinutes(2), T0.AddMinutes(30)), "db")]);
    }
}
