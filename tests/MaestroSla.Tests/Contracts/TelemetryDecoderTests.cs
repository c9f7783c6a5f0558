using System.Text;
using System.Text.Json.Nodes;
using MaestroSla.Contracts.Messages;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using Xunit;

namespace MaestroSla.Tests.Contracts;

[Trait("Category", "Unit")]
public class TelemetryDecoderTests
{
    private const string RequestSample =
        """{"v":1,"type":"request","service":"checkout","endpoint":"POST /pay","latencyMs":12.5,"status":200,"error":false,"ts":"2026-11-01T00:00:00.123Z"}""";

    private const string DowntimeSample =
        """{"v":1,"type":"downtime","service":"checkout","start":"2026-11-01T10:00:00Z","end":"2026-11-01T10:05:30Z","reason":"db failover"}""";

    private const string HealthSample =
        """{"v":1,"type":"health","service":"checkout","component":"postgres","status":"unhealthy","latencyMs":3.2,"ts":"2026-11-01T00:00:05Z"}""";

    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TelemetryDecoder _decoder = new(new ContractLimits(), new FakeTimeProvider(Now));

    [Fact]
    public void a_valid_request_is_decoded_with_all_its_values()
    {
        DecodedMessage decoded = Decode(RequestSample);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Kind.ShouldBe(MessageKind.Request);
        decoded.Request.ShouldBe(new RequestMetric(
            "checkout",
            "POST /pay",
            LatencyMicros: 12_500,
            StatusCode: 200,
            IsError: false,
            new DateTimeOffset(2026, 11, 1, 0, 0, 0, 123, TimeSpan.Zero)));
        decoded.Downtime.ShouldBeNull();
        decoded.Health.ShouldBeNull();
    }

    [Fact]
    public void a_valid_downtime_is_decoded_with_all_its_values()
    {
        DecodedMessage decoded = Decode(DowntimeSample);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Kind.ShouldBe(MessageKind.Downtime);
        decoded.Downtime.ShouldBe(new DowntimeInterval(
            "checkout",
            new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero),
            new DateTimeOffset(2026, 11, 1, 10, 5, 30, TimeSpan.Zero),
            "db failover"));
        decoded.Health.ShouldBeNull();
    }

    [Fact]
    public void a_valid_health_result_is_decoded_with_all_its_values()
    {
        DecodedMessage decoded = Decode(HealthSample);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Kind.ShouldBe(MessageKind.Health);
        decoded.Health.ShouldBe(new HealthResult(
            "checkout",
            "postgres",
            HealthState.Unhealthy,
            3.2,
            new DateTimeOffset(2026, 11, 1, 0, 0, 5, TimeSpan.Zero)));
        decoded.Downtime.ShouldBeNull();
    }

    [Theory]
    [InlineData("healthy", HealthState.Healthy)]
    [InlineData("degraded", HealthState.Degraded)]
    [InlineData("unhealthy", HealthState.Unhealthy)]
    public void every_health_state_is_decoded(string wireState, HealthState expected)
    {
        DecodedMessage decoded = Decode(With(HealthSample, "status", wireState));

        decoded.Health.ShouldNotBeNull().Status.ShouldBe(expected);
    }

    [Theory]
    [InlineData("2026-11-01T02:00:00+02:00")]
    [InlineData("2026-10-31T19:00:00-05:00")]
    [InlineData("2026-11-01T00:00:00Z")]
    [InlineData("2026-11-01T00:00:00.0000000+00:00")]
    public void timestamps_are_normalised_to_utc(string wireTimestamp)
    {
        // Written in place because a JSON serialiser would escape the '+' sign.
        DecodedMessage decoded = Decode(RequestSample.Replace("2026-11-01T00:00:00.123Z", wireTimestamp, StringComparison.Ordinal));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.Timestamp.ShouldBe(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
        decoded.Request.Timestamp.Offset.ShouldBe(TimeSpan.Zero);
    }

    [Fact]
    public void downtime_bounds_are_normalised_to_utc()
    {
        string json = With(
            With(DowntimeSample, "start", "2026-11-01T12:00:00+02:00"),
            "end",
            "2026-11-01T07:30:00-03:00");

        DowntimeInterval downtime = Decode(json).Downtime.ShouldNotBeNull();

        downtime.Start.ShouldBe(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero));
        downtime.Start.Offset.ShouldBe(TimeSpan.Zero);
        downtime.End.ShouldBe(new DateTimeOffset(2026, 11, 1, 10, 30, 0, TimeSpan.Zero));
        downtime.End.Offset.ShouldBe(TimeSpan.Zero);
    }

    [Theory]
    [InlineData(12.5, 12_500)]
    [InlineData(1.2345678, 1_235)]
    [InlineData(0.0004, 0)]
    [InlineData(0.0006, 1)]
    [InlineData(0, 0)]
    [InlineData(300_000, 300_000_000)]
    public void request_latency_is_rounded_to_whole_microseconds(double latencyMs, long expectedMicros)
    {
        DecodedMessage decoded = Decode(With(RequestSample, "latencyMs", latencyMs));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.LatencyMicros.ShouldBe(expectedMicros);
    }

    [Fact]
    public void health_latency_keeps_its_milliseconds()
    {
        DecodedMessage decoded = Decode(With(HealthSample, "latencyMs", 0.125));

        decoded.Health.ShouldNotBeNull().LatencyMs.ShouldBe(0.125);
    }

    [Theory]
    [InlineData(200, false)]
    [InlineData(404, false)]
    [InlineData(499, false)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(599, true)]
    public void without_an_error_flag_a_5xx_status_counts_as_an_error(int status, bool expectedError)
    {
        DecodedMessage decoded = Decode(Without(With(RequestSample, "status", status), "error"));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.StatusCode.ShouldBe(status);
        decoded.Request.IsError.ShouldBe(expectedError);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(503, false)]
    public void an_explicit_error_flag_overrides_the_status(int status, bool errorFlag)
    {
        DecodedMessage decoded = Decode(With(With(RequestSample, "status", status), "error", errorFlag));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.IsError.ShouldBe(errorFlag);
    }

    [Fact]
    public void a_request_with_only_an_error_flag_has_no_status_code()
    {
        DecodedMessage decoded = Decode(With(Without(RequestSample, "status"), "error", true));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.StatusCode.ShouldBeNull();
        decoded.Request.IsError.ShouldBeTrue();
    }

    [Fact]
    public void null_counts_as_an_absent_optional_field()
    {
        DecodedMessage decoded = Decode(RequestSample.Replace("\"error\":false", "\"error\":null", StringComparison.Ordinal));

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.IsError.ShouldBeFalse();
    }

    [Fact]
    public void a_downtime_without_reason_gets_an_empty_reason()
    {
        DecodedMessage decoded = Decode(Without(DowntimeSample, "reason"));

        decoded.Downtime.ShouldNotBeNull().Reason.ShouldBe(string.Empty);
    }

    [Fact]
    public void unknown_extra_properties_are_ignored()
    {
        const string json =
            """
            {"trace":{"id":"abc","spans":[1,2,{"deep":[[]]}]},"v":1,"region":"eu","type":"request",
             "component":42,"start":false,"service":"checkout","endpoint":"POST /pay","latencyMs":12.5,
             "status":200,"ts":"2026-11-01T00:00:00.123Z","tags":["a","b"],"sampled":null}
            """;

        DecodedMessage decoded = Decode(json);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.Service.ShouldBe("checkout");
        decoded.Request.LatencyMicros.ShouldBe(12_500);
    }

    [Fact]
    public void properties_may_come_in_any_order()
    {
        const string json =
            """{"ts":"2026-11-01T00:00:05Z","latencyMs":3.2,"status":"healthy","component":"postgres","service":"checkout","type":"health","v":1}""";

        DecodedMessage decoded = Decode(json);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Health.ShouldNotBeNull().Status.ShouldBe(HealthState.Healthy);
    }

    [Fact]
    public void escaped_property_names_and_values_are_understood()
    {
        const string json =
            """{"v":1,"type":"requ\u0065st","serv\u0069ce":"check\u006Fut","endpoint":"POST \/pay","latencyMs":1,"status":200,"ts":"2026-11-01T00:00:00\u002B00:00"}""";

        DecodedMessage decoded = Decode(json);

        decoded.IsValid.ShouldBeTrue(decoded.Error);
        decoded.Request.Service.ShouldBe("checkout");
        decoded.Request.Endpoint.ShouldBe("POST /pay");
        decoded.Request.Timestamp.ShouldBe(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void non_ascii_names_are_kept_intact()
    {
        DecodedMessage decoded = Decode(With(RequestSample, "endpoint", "GET /café/☕/𝄞"));

        decoded.Request.Endpoint.ShouldBe("GET /café/☕/𝄞");
    }

    [Fact]
    public void a_repeated_name_decodes_to_the_same_string()
    {
        string first = Decode(RequestSample).Request.Service;
        string second = Decode(With(RequestSample, "latencyMs", 99)).Request.Service;
        string fromHealth = Decode(HealthSample).Health.ShouldNotBeNull().Service;

        second.ShouldBe(first);
        second.ShouldBeSameAs(first);
        fromHealth.ShouldBeSameAs(first);
    }

    [Fact]
    public void names_keep_decoding_once_the_name_cache_is_full()
    {
        for (int i = 0; i < 10_050; i++)
        {
            string service = $"service-{i}";
            Decode(With(RequestSample, "service", service)).Request.Service.ShouldBe(service);
        }

        string late = Decode(With(RequestSample, "service", "latecomer")).Request.Service;
        Decode(With(RequestSample, "service", "latecomer")).Request.Service.ShouldBe(late);
    }

    [Fact]
    public void decoding_a_request_with_known_names_allocates_nothing()
    {
        byte[] request = Encoding.UTF8.GetBytes(RequestSample);
        _decoder.Decode(request).IsValid.ShouldBeTrue();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            _decoder.Decode(request);
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\r\n\t")]
    public void an_empty_payload_is_rejected(string payload)
    {
        ShouldBeRejected(payload, "empty payload");
    }

    [Theory]
    [InlineData("""{"v":1,"type":}""")]
    [InlineData("""{"v":1 "type":"request"}""")]
    [InlineData("""{'v':1}""")]
    [InlineData("""not json at all""")]
    [InlineData("""{"v":1,"type":"request",}""")]
    [InlineData("""{"v":1,"type":"request"} {"v":1}""")]
    [InlineData("""{"v":1,"type":"request"}x""")]
    public void malformed_json_is_rejected(string payload)
    {
        DecodedMessage decoded = Decode(payload);

        decoded.IsValid.ShouldBeFalse();
        decoded.Error.ShouldNotBeNull().ShouldStartWith("malformed JSON");
    }

    [Theory]
    [InlineData("""{"v":1,"type":"request","service":"checkout","endpoint":"POST /pay","latencyMs":12.5""")]
    [InlineData("""{"v":1,"type":"request","service":"check""")]
    [InlineData("""{"v":1,"typ""")]
    [InlineData("""{""")]
    public void truncated_json_is_rejected(string payload)
    {
        Decode(payload).Error.ShouldNotBeNull().ShouldStartWith("malformed JSON");
    }

    [Fact]
    public void a_message_cut_at_any_byte_is_rejected_without_throwing()
    {
        foreach (string sample in new[] { RequestSample, DowntimeSample, HealthSample })
        {
            byte[] bytes = Encoding.UTF8.GetBytes(sample);
            for (int length = 0; length < bytes.Length; length++)
            {
                _decoder.Decode(bytes.AsSpan(0, length)).IsValid.ShouldBeFalse($"{sample} cut at {length}");
            }
        }
    }

    [Fact]
    public void random_bytes_are_rejected_without_throwing()
    {
        var random = new Random(20261101);
        byte[] bytes = Encoding.UTF8.GetBytes(RequestSample);
        for (int round = 0; round < 2_000; round++)
        {
            byte[] mangled = (byte[])bytes.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                mangled[random.Next(mangled.Length)] = (byte)random.Next(256);
            }

            Should.NotThrow(() => _decoder.Decode(mangled));
        }
    }

    [Fact]
    public void invalid_utf8_inside_a_name_is_rejected_as_malformed()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(RequestSample.Replace("checkout", "check#out", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)'#')] = 0xFF;

        _decoder.Decode(bytes).Error.ShouldNotBeNull().ShouldStartWith("malformed JSON");
    }

    [Theory]
    [InlineData("""[{"v":1,"type":"request"}]""")]
    [InlineData("""[]""")]
    [InlineData("\"request\"")]
    [InlineData("42")]
    [InlineData("null")]
    public void anything_but_a_json_object_is_rejected(string payload)
    {
        ShouldBeRejected(payload, "message must be a JSON object");
    }

    [Theory]
    [InlineData("trace")]
    [InlineData("Request")]
    [InlineData("")]
    public void an_unknown_message_type_is_rejected(string type)
    {
        ShouldBeRejected(With(RequestSample, "type", type), $"unknown message type '{type}'");
    }

    [Fact]
    public void an_absurdly_long_unknown_type_is_not_echoed_in_full()
    {
        string type = new('x', 10_000);

        Decode(With(RequestSample, "type", type)).Error.ShouldNotBeNull().Length.ShouldBeLessThan(200);
    }

    [Theory]
    [InlineData("2", "2")]
    [InlineData("0", "0")]
    [InlineData("-1", "-1")]
    [InlineData("1.5", "1.5")]
    [InlineData("99999999999", "99999999999")]
    public void an_unsupported_contract_version_is_rejected(string wireVersion, string reported)
    {
        string json = RequestSample.Replace("\"v\":1", $"\"v\":{wireVersion}", StringComparison.Ordinal);

        ShouldBeRejected(json, $"unsupported contract version {reported}");
    }

    [Fact]
    public void the_version_is_judged_before_anything_else()
    {
        ShouldBeRejected("""{"type":"trace","latencyMs":"soon","v":2}""", "unsupported contract version 2");
    }

    [Fact]
    public void a_version_given_as_a_string_is_rejected()
    {
        ShouldBeRejected(With(RequestSample, "v", "1"), "field 'v' must be a number");
    }

    [Theory]
    [InlineData(RequestSample, "v")]
    [InlineData(RequestSample, "type")]
    [InlineData(RequestSample, "service")]
    [InlineData(RequestSample, "endpoint")]
    [InlineData(RequestSample, "latencyMs")]
    [InlineData(RequestSample, "ts")]
    [InlineData(DowntimeSample, "v")]
    [InlineData(DowntimeSample, "type")]
    [InlineData(DowntimeSample, "service")]
    [InlineData(DowntimeSample, "start")]
    [InlineData(DowntimeSample, "end")]
    [InlineData(HealthSample, "service")]
    [InlineData(HealthSample, "component")]
    [InlineData(HealthSample, "status")]
    [InlineData(HealthSample, "latencyMs")]
    [InlineData(HealthSample, "ts")]
    public void a_missing_required_field_is_named(string sample, string field)
    {
        ShouldBeRejected(Without(sample, field), $"missing field '{field}'");
    }

    [Fact]
    public void a_required_field_given_as_null_counts_as_missing()
    {
        ShouldBeRejected(With(RequestSample, "endpoint", null), "missing field 'endpoint'");
    }

    [Fact]
    public void property_names_are_case_sensitive()
    {
        string json = RequestSample.Replace("\"service\"", "\"Service\"", StringComparison.Ordinal);

        ShouldBeRejected(json, "missing field 'service'");
    }

    [Fact]
    public void a_request_without_status_or_error_flag_is_rejected()
    {
        DecodedMessage decoded = Decode(Without(Without(RequestSample, "status"), "error"));

        decoded.IsValid.ShouldBeFalse();
        decoded.Error.ShouldNotBeNull().ShouldStartWith("missing field 'status' or 'error'");
    }

    [Theory]
    [InlineData(RequestSample, "type", 1, "field 'type' must be a string")]
    [InlineData(RequestSample, "service", 5, "field 'service' must be a string")]
    [InlineData(RequestSample, "endpoint", true, "field 'endpoint' must be a string")]
    [InlineData(RequestSample, "latencyMs", "12.5", "field 'latencyMs' must be a number")]
    [InlineData(RequestSample, "status", "200", "field 'status' must be a number")]
    [InlineData(RequestSample, "error", "false", "field 'error' must be a boolean")]
    [InlineData(RequestSample, "error", 0, "field 'error' must be a boolean")]
    [InlineData(RequestSample, "ts", 1_700_000_000, "field 'ts' must be a string")]
    [InlineData(DowntimeSample, "start", 0, "field 'start' must be a string")]
    [InlineData(DowntimeSample, "reason", 42, "field 'reason' must be a string")]
    [InlineData(HealthSample, "component", false, "field 'component' must be a string")]
    [InlineData(HealthSample, "status", 1, "field 'status' must be a string")]
    [InlineData(HealthSample, "latencyMs", "3.2", "field 'latencyMs' must be a number")]
    public void a_field_of_the_wrong_json_type_is_rejected(string sample, string field, object value, string reason)
    {
        ShouldBeRejected(With(sample, field, JsonValue.Create(value)), reason);
    }

    [Fact]
    public void a_field_holding_an_object_or_array_is_rejected()
    {
        ShouldBeRejected(With(RequestSample, "latencyMs", new JsonObject()), "field 'latencyMs' must be a number");
        ShouldBeRejected(With(RequestSample, "service", new JsonArray()), "field 'service' must be a string");
    }

    [Fact]
    public void a_duplicated_field_is_rejected()
    {
        string json = RequestSample.Replace("\"latencyMs\":12.5", "\"latencyMs\":12.5,\"latencyMs\":1", StringComparison.Ordinal);

        ShouldBeRejected(json, "duplicate field 'latencyMs'");
    }

    [Fact]
    public void a_duplicated_version_is_rejected()
    {
        ShouldBeRejected(RequestSample.Replace("}", ",\"v\":2}", StringComparison.Ordinal), "duplicate field 'v'");
    }

    [Theory]
    [InlineData(RequestSample)]
    [InlineData(HealthSample)]
    public void a_latency_given_as_the_string_nan_is_rejected(string sample)
    {
        ShouldBeRejected(With(sample, "latencyMs", "NaN"), "field 'latencyMs' must be a number");
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    public void a_latency_that_overflows_to_infinity_is_rejected(string wireLatency)
    {
        string json = RequestSample.Replace("12.5", wireLatency, StringComparison.Ordinal);

        ShouldBeRejected(json, "field 'latencyMs' must be a finite number");
    }

    [Theory]
    [InlineData(RequestSample)]
    [InlineData(HealthSample)]
    public void a_negative_latency_is_rejected(string sample)
    {
        ShouldBeRejected(With(sample, "latencyMs", -0.001), "field 'latencyMs' must not be negative");
    }

    [Theory]
    [InlineData(RequestSample)]
    [InlineData(HealthSample)]
    public void a_latency_beyond_the_limit_is_rejected_naming_the_limit(string sample)
    {
        DecodedMessage decoded = Decode(With(sample, "latencyMs", 300_000.001));

        decoded.IsValid.ShouldBeFalse();
        decoded.Error.ShouldNotBeNull().ShouldStartWith("field 'latencyMs' exceeds the maximum latency of 300000 ms");
        decoded.Error.ShouldContain("MaxLatency");
    }

    [Fact]
    public void the_latency_limit_follows_the_configuration()
    {
        var strict = new TelemetryDecoder(
            new ContractLimits { MaxLatency = TimeSpan.FromSeconds(1) },
            new FakeTimeProvider(Now));

        strict.Decode(Encoding.UTF8.GetBytes(With(RequestSample, "latencyMs", 1000))).IsValid.ShouldBeTrue();
        strict.Decode(Encoding.UTF8.GetBytes(With(RequestSample, "latencyMs", 1000.5)))
            .Error.ShouldNotBeNull().ShouldStartWith("field 'latencyMs' exceeds the maximum latency of 1000 ms");
    }

    [Fact]
    public void a_negative_zero_latency_is_reported_as_zero()
    {
        string json = HealthSample.Replace("3.2", "-0.0", StringComparison.Ordinal);

        double latency = Decode(json).Health.ShouldNotBeNull().LatencyMs;

        double.IsNegative(latency).ShouldBeFalse();
    }

    [Theory]
    [InlineData("99")]
    [InlineData("600")]
    [InlineData("0")]
    [InlineData("-200")]
    [InlineData("200.5")]
    [InlineData("1e10")]
    public void a_status_outside_the_http_range_is_rejected(string wireStatus)
    {
        string json = RequestSample.Replace("\"status\":200", $"\"status\":{wireStatus}", StringComparison.Ordinal);

        ShouldBeRejected(json, "field 'status' must be an HTTP status code from 100 to 599");
    }

    [Theory]
    [InlineData("sick")]
    [InlineData("Healthy")]
    [InlineData("")]
    public void an_unknown_health_status_is_rejected(string status)
    {
        ShouldBeRejected(
            With(HealthSample, "status", status),
            $"field 'status' must be healthy, degraded or unhealthy, not '{status}'");
    }

    [Fact]
    public void a_downtime_ending_before_it_starts_is_rejected()
    {
        string json = With(DowntimeSample, "end", "2026-11-01T09:59:59Z");

        ShouldBeRejected(json, "field 'end' must be after 'start'");
    }

    [Fact]
    public void a_downtime_ending_when_it_starts_is_rejected()
    {
        string json = With(DowntimeSample, "end", "2026-11-01T10:00:00Z");

        ShouldBeRejected(json, "field 'end' must be after 'start'");
    }

    [Fact]
    public void a_downtime_reason_of_a_thousand_characters_is_accepted_and_longer_is_rejected()
    {
        Decode(With(DowntimeSample, "reason", new string('r', 1000))).IsValid.ShouldBeTrue();

        ShouldBeRejected(
            With(DowntimeSample, "reason", new string('r', 1001)),
            "field 'reason' must be at most 1000 characters");
    }

    [Theory]
    [InlineData("ts", "2026-11-01T00:00:00")]
    [InlineData("ts", "2026-11-01T00:00:00.123")]
    [InlineData("ts", "2026-11-01")]
    [InlineData("start", "2026-11-01T10:00:00")]
    [InlineData("end", "2026-11-01T10:05:30")]
    public void a_timestamp_without_offset_is_rejected(string field, string timestamp)
    {
        string sample = field == "ts" ? RequestSample : DowntimeSample;

        ShouldBeRejected(With(sample, field, timestamp), $"field '{field}' must carry a UTC offset (Z or ±hh:mm)");
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-13-01T00:00:00Z")]
    [InlineData("2026-11-01 00:00:00Z")]
    [InlineData("1762000000")]
    [InlineData("")]
    public void a_timestamp_that_is_not_iso_8601_is_rejected(string timestamp)
    {
        Decode(With(RequestSample, "ts", timestamp)).Error.ShouldNotBeNull()
            .ShouldStartWith("field 'ts' must be an ISO-8601 timestamp");
    }

    [Fact]
    public void a_timestamp_at_the_edges_of_the_accepted_window_is_accepted()
    {
        Decode(With(RequestSample, "ts", Iso(Now - TimeSpan.FromDays(62)))).IsValid.ShouldBeTrue();
        Decode(With(RequestSample, "ts", Iso(Now + TimeSpan.FromMinutes(5)))).IsValid.ShouldBeTrue();
    }

    [Theory]
    [InlineData(RequestSample, "ts")]
    [InlineData(HealthSample, "ts")]
    [InlineData(DowntimeSample, "start")]
    public void a_timestamp_older_than_the_accepted_window_is_rejected(string sample, string field)
    {
        string tooOld = Iso(Now - TimeSpan.FromDays(62) - TimeSpan.FromMilliseconds(1));

        Decode(With(sample, field, tooOld)).Error.ShouldNotBeNull()
            .ShouldStartWith($"field '{field}' is older than the accepted window of 62.00:00:00");
    }

    [Theory]
    [InlineData(RequestSample, "ts")]
    [InlineData(HealthSample, "ts")]
    [InlineData(DowntimeSample, "end")]
    public void a_timestamp_too_far_in_the_future_is_rejected(string sample, string field)
    {
        string tooEarly = Iso(Now + TimeSpan.FromMinutes(5) + TimeSpan.FromMilliseconds(1));

        Decode(With(sample, field, tooEarly)).Error.ShouldNotBeNull()
            .ShouldStartWith($"field '{field}' is more than 00:05:00 ahead of this host's clock");
    }

    [Fact]
    public void the_accepted_window_moves_with_the_clock()
    {
        var clock = new FakeTimeProvider(Now);
        var moving = new TelemetryDecoder(new ContractLimits(), clock);
        byte[] request = Encoding.UTF8.GetBytes(RequestSample);

        moving.Decode(request).IsValid.ShouldBeTrue();
        clock.Advance(TimeSpan.FromDays(63));
        moving.Decode(request).IsValid.ShouldBeFalse();
    }

    [Theory]
    [InlineData(RequestSample, "service")]
    [InlineData(RequestSample, "endpoint")]
    [InlineData(HealthSample, "component")]
    public void a_name_of_the_maximum_length_is_accepted(string sample, string field)
    {
        Decode(With(sample, field, new string('n', 200))).IsValid.ShouldBeTrue();
    }

    [Theory]
    [InlineData(RequestSample, "service")]
    [InlineData(RequestSample, "endpoint")]
    [InlineData(DowntimeSample, "service")]
    [InlineData(HealthSample, "component")]
    public void an_over_long_name_is_rejected(string sample, string field)
    {
        Decode(With(sample, field, new string('n', 201))).Error.ShouldNotBeNull()
            .ShouldStartWith($"field '{field}' must be at most 200 characters");
        Decode(With(sample, field, new string('n', 100_000))).Error.ShouldNotBeNull()
            .ShouldStartWith($"field '{field}' must be at most 200 characters");
    }

    [Fact]
    public void the_name_length_limit_follows_the_configuration()
    {
        var strict = new TelemetryDecoder(new ContractLimits { MaxNameLength = 8 }, new FakeTimeProvider(Now));

        strict.Decode(Encoding.UTF8.GetBytes(With(RequestSample, "endpoint", "GET /abc"))).IsValid.ShouldBeTrue();
        strict.Decode(Encoding.UTF8.GetBytes(With(RequestSample, "endpoint", "GET /abcd")))
            .Error.ShouldBe("field 'endpoint' must be at most 8 characters (Contract:MaxNameLength)");
    }

    [Theory]
    [InlineData(RequestSample, "service", "check\nout")]
    [InlineData(RequestSample, "endpoint", "POST /pay\u0000")]
    [InlineData(RequestSample, "endpoint", "\tGET /")]
    [InlineData(HealthSample, "component", "postgres\u007f")]
    [InlineData(HealthSample, "component", "postgres\u0085")]
    public void a_name_with_a_control_character_is_rejected(string sample, string field, string name)
    {
        ShouldBeRejected(With(sample, field, name), $"field '{field}' must not contain control characters");
    }

    [Theory]
    [InlineData(RequestSample, "service")]
    [InlineData(RequestSample, "endpoint")]
    [InlineData(DowntimeSample, "service")]
    [InlineData(HealthSample, "component")]
    public void a_name_with_a_pipe_is_rejected(string sample, string field)
    {
        Decode(With(sample, field, "a|b")).Error.ShouldNotBeNull().ShouldStartWith($"field '{field}' must not contain '|'");
    }

    [Theory]
    [InlineData(RequestSample, "service")]
    [InlineData(RequestSample, "endpoint")]
    [InlineData(HealthSample, "component")]
    public void an_empty_name_is_rejected(string sample, string field)
    {
        ShouldBeRejected(With(sample, field, string.Empty), $"field '{field}' must not be empty");
    }

    [Fact]
    public void a_rejected_name_is_rejected_every_time()
    {
        string json = With(RequestSample, "service", "a|b");

        Decode(json).IsValid.ShouldBeFalse();
        Decode(json).IsValid.ShouldBeFalse();
    }

    private DecodedMessage Decode(string json) => _decoder.Decode(Encoding.UTF8.GetBytes(json));

    private void ShouldBeRejected(string json, string reason)
    {
        DecodedMessage decoded = Decode(json);
        decoded.IsValid.ShouldBeFalse();
        decoded.Error.ShouldBe(reason);
    }

    private static string With(string json, string property, JsonNode? value)
    {
        JsonObject message = JsonNode.Parse(json)!.AsObject();
        message[property] = value;
        return message.ToJsonString();
    }

    private static string Without(string json, string property)
    {
        JsonObject message = JsonNode.Parse(json)!.AsObject();
        message.Remove(property).ShouldBeTrue($"the sample has no '{property}' to remove");
        return message.ToJsonString();
    }

    private static string Iso(DateTimeOffset instant) => instant.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
}
