using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Messages;
using Microsoft.Extensions.Time.Testing;
using Shouldly;

namespace MaestroSla.Tests.Contracts;

/// <summary>The wire writer is the decoder's inverse: what it writes decodes to what it was given.</summary>
[Trait("Category", "Unit")]
public sealed class TelemetryWriterTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TelemetryDecoder _decoder = new(new ContractLimits(), new FakeTimeProvider(Now));

    [Fact]
    public void a_written_request_decodes_to_the_same_values_with_quotes_and_backslashes_in_its_names()
    {
        var at = new DateTimeOffset(2026, 11, 1, 11, 59, 0, 250, TimeSpan.Zero);
        var wire = TelemetryWriter.Request("say \"hi\"", "GET /a\\b {id}", 12.345, 503, at);

        var decoded = _decoder.Decode(wire);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.ShouldBe(new RequestMetric("say \"hi\"", "GET /a\\b {id}", LatencyMicros: 12_345, StatusCode: 503, IsError: true, at));
        JsonDocument.Parse(wire).RootElement.GetProperty("service").GetString().ShouldBe("say \"hi\"");
    }

    [Fact]
    public void the_error_flag_is_written_when_given_and_the_status_may_be_left_out()
    {
        var decoded = _decoder.Decode(TelemetryWriter.Request("a", "/x", 1, status: null, Now.AddMinutes(-1), error: true));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.StatusCode.ShouldBeNull();
        decoded.Request.IsError.ShouldBeTrue();
    }

    [Fact]
    public void a_whole_millisecond_time_is_written_at_millisecond_precision_last_and_a_finer_one_keeps_its_ticks()
    {
        var whole = Encoding.UTF8.GetString(TelemetryWriter.Request("a", "/x", 1, 200, new DateTimeOffset(2026, 11, 1, 11, 0, 0, 7, TimeSpan.FromHours(2))));
        whole.ShouldEndWith("\"ts\":\"2026-11-01T09:00:00.007Z\"}");
        "2026-11-01T09:00:00.007Z".Length.ShouldBe(TelemetryWriter.MillisecondTimestampLength);

        var fine = Now.AddMinutes(-3).AddTicks(1234);
        var decoded = _decoder.Decode(TelemetryWriter.Request("a", "/x", 1, 200, fine));
        decoded.Request.Timestamp.ShouldBe(fine);
    }

    [Fact]
    public void written_downtime_and_health_decode_to_the_same_values()
    {
        var start = Now.AddMinutes(-30);
        var downtime = _decoder.Decode(TelemetryWriter.Downtime("checkout", start, start.AddSeconds(330.5), "db \"failover\""));
        downtime.IsValid.ShouldBeTrue(downtime.Error);
        downtime.Downtime.ShouldBe(new DowntimeInterval("checkout", start, start.AddSeconds(330.5), "db \"failover\""));

        var health = _decoder.Decode(TelemetryWriter.Health("checkout", "postgres", HealthState.Degraded, 3.2, Now.AddSeconds(-5)));
        health.IsValid.ShouldBeTrue(health.Error);
        health.Health.ShouldBe(new HealthResult("checkout", "postgres", HealthState.Degraded, 3.2, Now.AddSeconds(-5)));
    }
}
