using System.Text.Json;
using MaestroSla.Projections.Uptime;
using MaestroSla.Sla.CustomerContracts;
using MaestroSla.Sla.Statements;
using Shouldly;

namespace MaestroSla.Tests.Statements;

/// <summary>The pure rules of contracts: which field a mistake names, and which minutes excludeRequests leaves out.</summary>
[Trait("Category", "Unit")]
public sealed class ContractRulesTests
{
    private const string Valid = """
        {"services":["checkout","payments"],"customerId":null,"timeZone":"Europe/Berlin","measure":"combined","effectiveFrom":"2026-10",
         "targets":{"uptime":99.9,"availability":99.5,"latency_p99":300},"maintenance":{"excludeDowntime":true,"excludeRequests":true},
         "credits":[{"below":99.0,"percent":25},{"below":99.9,"percent":10},{"below":95.0,"percent":100}],"creditMetric":"uptime"}
        """;

    private static ContractTerms Parse(string json) => JsonSerializer.Deserialize<ContractTerms>(json, ContractTerms.Json)!;

    [Fact]
    public void the_issues_example_is_a_valid_contract_and_its_credits_are_stored_highest_threshold_first()
    {
        var terms = Parse(Valid);

        terms.Problem(100).ShouldBeNull();
        terms.Normalized().Credits.Select(c => (c.Below, c.Percent)).ShouldBe([(99.9, 10.0), (99.0, 25.0), (95.0, 100.0)]);
        terms.Targets.All().Where(t => t.Target is not null).Select(t => t.Metric).ShouldBe(["uptime", "availability", "latency_p99"]);
    }

    [Theory]
    [InlineData("\"services\":[\"checkout\",\"payments\"]", "\"services\":[]", "services")]
    [InlineData("\"services\":[\"checkout\",\"payments\"]", "\"services\":[\"checkout\",\"checkout\"]", "services[1]")]
    [InlineData("\"services\":[\"checkout\",\"payments\"]", "\"services\":[\"checkout\",\"pay|ments\"]", "services[1]")]
    [InlineData("\"customerId\":null", "\"customerId\":\"tenant|7\"", "customerId")]
    [InlineData("\"customerId\":null", "\"customerId\":\"\"", "customerId")]
    [InlineData("Europe/Berlin", "Mars/Olympus", "timeZone")]
    [InlineData("\"combined\"", "\"sometimes\"", "measure")]
    [InlineData("\"2026-10\"", "\"2026-13\"", "effectiveFrom")]
    [InlineData("\"uptime\":99.9,", "\"uptime\":120,", "targets.uptime")]
    [InlineData("\"latency_p99\":300", "\"latency_p99\":-1", "targets.latency_p99")]
    [InlineData("{\"below\":99.0,\"percent\":25}", "{\"below\":99.0,\"percent\":5}", "credits[0].percent")]
    [InlineData("{\"below\":99.0,\"percent\":25}", "{\"below\":99.9,\"percent\":25}", "credits[1].below")]
    [InlineData("{\"below\":99.0,\"percent\":25}", "{\"below\":0,\"percent\":25}", "credits[0].below")]
    [InlineData("\"creditMetric\":\"uptime\"", "\"creditMetric\":\"latency_p99\"", "creditMetric")]
    [InlineData("\"creditMetric\":\"uptime\"", "\"creditMetric\":null", "creditMetric")]
    public void a_mistake_names_its_field(string valid, string mistake, string field)
    {
        Valid.ShouldContain(valid);
        var problem = Parse(Valid.Replace(valid, mistake, StringComparison.Ordinal)).Problem(100);

        problem.ShouldNotBeNull();
        problem.Value.Field.ShouldBe(field, problem.Value.Message);
    }

    [Fact]
    public void a_customer_id_is_any_name_ingest_accepts_including_the_customers_past_the_limit()
    {
        Parse(Valid.Replace("\"customerId\":null", "\"customerId\":\"t-1\"", StringComparison.Ordinal)).Problem(100).ShouldBeNull();
        Parse(Valid.Replace("\"customerId\":null", "\"customerId\":\"(other)\"", StringComparison.Ordinal)).Problem(100).ShouldBeNull();
        var problem = Parse(Valid.Replace("\"customerId\":null", "\"customerId\":\"t|1\"", StringComparison.Ordinal)).Problem(100)!.Value;

        problem.Field.ShouldBe("customerId");
        problem.Message.ShouldBe("must not contain '|'");
    }

    [Fact]
    public void an_unknown_property_is_a_json_error_at_its_path()
    {
        var ex = Should.Throw<JsonException>(() => Parse(Valid.Replace("\"latency_p99\":300", "\"latency_p90\":300", StringComparison.Ordinal)));

        ex.Path.ShouldBe("$.targets.latency_p90");
    }

    [Fact]
    public void two_versions_with_the_same_terms_are_canonically_equal_whatever_the_order_of_the_credits_given()
    {
        var a = Parse(Valid).Normalized();
        var b = Parse(Valid.Replace("[{\"below\":99.0,\"percent\":25},{\"below\":99.9,\"percent\":10}", "[{\"below\":99.9,\"percent\":10},{\"below\":99.0,\"percent\":25}", StringComparison.Ordinal)).Normalized();

        b.Canonical().ShouldBe(a.Canonical());
        Parse(Valid.Replace("99.5", "99.6", StringComparison.Ordinal)).Normalized().Canonical().ShouldNotBe(a.Canonical());
    }

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void only_minutes_wholly_inside_a_window_are_left_out()
    {
        var minutes = RequestsOutsideMaintenance.ExcludedMinutes(
        [
            new Interval(At("2026-11-10T02:00:00Z"), At("2026-11-10T04:00:00Z")), // on whole minutes: exactly its 120 minutes
            new Interval(At("2026-11-12T05:00:30Z"), At("2026-11-12T06:00:30Z")), // cut minutes at both edges stay counted
            new Interval(At("2026-11-13T07:00:10Z"), At("2026-11-13T07:00:50Z")), // inside one minute: no whole minute
        ]);

        minutes.ShouldBe(
        [
            new Interval(At("2026-11-10T02:00:00Z"), At("2026-11-10T04:00:00Z")),
            new Interval(At("2026-11-12T05:01:00Z"), At("2026-11-12T06:00:00Z")),
        ]);
    }
}
