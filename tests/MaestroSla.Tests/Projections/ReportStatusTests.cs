using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using Shouldly;

namespace MaestroSla.Tests.Projections;

[Trait("Category", "Unit")]
public sealed class ReportStatusTests
{
    [Theory]
    [InlineData(new[] { "met", "met" }, "met")]
    [InlineData(new[] { "met", "no data" }, "no data")]
    [InlineData(new[] { "no data", "breached", "met" }, "breached")]
    [InlineData(new[] { "no data", "no data" }, "no data")]
    public void a_breach_with_data_decides_else_missing_data_else_met(string[] statuses, string overall)
    {
        SlaStatus.Overall(statuses).ShouldBe(overall);
        SlaStatus.MetOf(overall).ShouldBe(overall switch { "met" => true, "breached" => false, _ => (bool?)null });
    }

    [Fact]
    public void the_nearest_known_names_come_by_edit_distance_ignoring_case()
    {
        string[] known = ["checkout", "search", "payments", "Checkout-v2", "catalog"];

        KnownSubjects.Nearest("chekout", known).ShouldBe(["checkout", "Checkout-v2", "catalog"]);
        KnownSubjects.Nearest("SEARCH", known, count: 1).ShouldBe(["search"]);
        KnownSubjects.Nearest("x", []).ShouldBeEmpty();
    }

    [Theory]
    [InlineData("checkout", null)]
    [InlineData("", "must not be empty")]
    [InlineData("a|b", "must not contain '|'")]
    [InlineData("a\u0000b", "must not contain control characters")]
    [InlineData("GET /cart\n", "must not contain control characters")]
    [InlineData("123456789012345678901", "at most 20 characters")]
    public void query_names_follow_the_rule_of_ingest_names(string name, string? problem)
    {
        var actual = ReportNames.Problem(name, "service", maxLength: 20);
        if (problem is null)
        {
            actual.ShouldBeNull();
        }
        else
        {
            actual.ShouldNotBeNull().ShouldContain(problem);
        }
    }
}
