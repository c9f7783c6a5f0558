using MaestroSla.Contracts.Messages;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using Xunit;

namespace MaestroSla.Tests.Contracts;

[Trait("Category", "Unit")]
public class ContractLimitsTests
{
    [Fact]
    public void the_defaults_are_the_documented_ones()
    {
        var limits = new ContractLimits();

        limits.MaxAge.ShouldBe(TimeSpan.FromDays(62));
        limits.MaxFutureSkew.ShouldBe(TimeSpan.FromMinutes(5));
        limits.MaxLatency.ShouldBe(TimeSpan.FromMinutes(5));
        limits.MaxNameLength.ShouldBe(200);
    }

    [Fact]
    public void a_latency_limit_of_exactly_one_hour_is_accepted()
    {
        Should.NotThrow(() => Decoder(new ContractLimits { MaxLatency = TimeSpan.FromHours(1) }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3_600_001)]
    public void a_latency_limit_outside_the_histogram_range_is_refused(long milliseconds)
    {
        var limits = new ContractLimits { MaxLatency = TimeSpan.FromMilliseconds(milliseconds) };

        Should.Throw<ArgumentOutOfRangeException>(() => Decoder(limits)).Message.ShouldContain("Contract:MaxLatency");
    }

    [Fact]
    public void a_zero_max_age_is_refused()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Decoder(new ContractLimits { MaxAge = TimeSpan.Zero }))
            .Message.ShouldContain("Contract:MaxAge");
    }

    [Fact]
    public void a_negative_future_skew_is_refused()
    {
        Should.Throw<ArgumentOutOfRangeException>(
                () => Decoder(new ContractLimits { MaxFutureSkew = TimeSpan.FromSeconds(-1) }))
            .Message.ShouldContain("Contract:MaxFutureSkew");
    }

    [Fact]
    public void a_zero_future_skew_is_accepted()
    {
        Should.NotThrow(() => Decoder(new ContractLimits { MaxFutureSkew = TimeSpan.Zero }));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(4097)]
    public void a_nonsensical_name_length_limit_is_refused(int maxNameLength)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Decoder(new ContractLimits { MaxNameLength = maxNameLength }))
            .Message.ShouldContain("Contract:MaxNameLength");
    }

    private static TelemetryDecoder Decoder(ContractLimits limits) => new(limits, new FakeTimeProvider());
}
