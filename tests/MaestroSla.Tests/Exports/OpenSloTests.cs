using System.Text.RegularExpressions;
using MaestroSla.Contracts.Targets;
using MaestroSla.Sla.Targets;
using Shouldly;

namespace MaestroSla.Tests.Exports;

[Trait("Category", "Unit")]
public sealed partial class OpenSloTests
{
    internal static readonly SlaTargets Odd = new() { UptimePercent = 99.95, AvailabilityPercent = 99.9, P95Ms = 123.4, P99Ms = 987.65, ErrorRatePercent = 0.1 };

    [Fact]
    public void every_service_becomes_a_service_and_five_slo_documents_that_read_back_as_the_same_targets()
    {
        var services = new List<(string, SlaTargets)> { ("checkout", Odd), ("Payments API/v2", new SlaTargets()) };

        var yaml = OpenSlo.Export(services);

        CountOf(yaml, "apiVersion: openslo/v1").ShouldBe(12);
        CountOf(yaml, "kind: Service").ShouldBe(2);
        CountOf(yaml, "kind: SLO").ShouldBe(10);
        CountOf(yaml, "budgetingMethod: Timeslices").ShouldBe(2);
        yaml.ShouldContain("targetPercent: 99.95");
        yaml.ShouldContain("targetPercent: 99.9\n"); // error rate 0.1 % = 99.9 % good requests
        yaml.ShouldContain("value: 123.4");
        yaml.ShouldContain("timeSliceWindow: 1m");
        foreach (Match name in NamePattern().Matches(yaml))
        {
            name.Groups[1].Value.ShouldMatch("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");
        }

        OpenSlo.Import(yaml).ShouldBe(services);
    }

    [Fact]
    public void documents_written_elsewhere_without_our_annotation_are_recognised_by_their_shape()
    {
        var yaml = string.Join("\n", OpenSlo.Export([("checkout", Odd)]).Split('\n').Where(l => !l.Contains("annotations:", StringComparison.Ordinal) && !l.Contains(OpenSlo.ObjectiveAnnotation, StringComparison.Ordinal)));
        yaml.ShouldNotContain(OpenSlo.ObjectiveAnnotation);

        OpenSlo.Import(yaml).ShouldBe([("checkout", Odd)]);

        // The target may be a fraction instead of a percentage.
        OpenSlo.Import(yaml.Replace("targetPercent: 99.95", "target: 0.9995", StringComparison.Ordinal)).Single().Targets.UptimePercent.ShouldBe(99.95);
    }

    [Fact]
    public void an_incomplete_or_unreadable_file_is_refused_with_what_is_wrong()
    {
        var withoutUptime = OpenSlo.Export([("checkout", Odd)]).Split("---\n").Where(d => !d.Contains("Timeslices", StringComparison.Ordinal));
        Should.Throw<OpenSloFormatException>(() => OpenSlo.Import(string.Join("---\n", withoutUptime)))
            .Message.ShouldBe("service 'checkout': missing uptime (all five targets are needed)");

        Should.Throw<OpenSloFormatException>(() => OpenSlo.Import("apiVersion: openslo/v1\nkind: SLO\nspec: [unclosed"))
            .Message.ShouldStartWith("not valid OpenSLO YAML at line");
        Should.Throw<OpenSloFormatException>(() => OpenSlo.Import("apiVersion: openslo/v1\nkind: Service\nmetadata:\n  name: x\n"))
            .Message.ShouldBe("no OpenSLO SLO documents found");
        Should.Throw<OpenSloFormatException>(() => OpenSlo.Import(OpenSlo.Export([("checkout", Odd)]).Replace("value: 123.4", "value: -5", StringComparison.Ordinal)))
            .Message.ShouldBe("service 'checkout': p95Ms must be a positive number");
    }

    internal static int CountOf(string text, string value) => Regex.Count(text, Regex.Escape(value));

    [GeneratedRegex(@"\n  name: (.*)\n")]
    private static partial Regex NamePattern();
}
