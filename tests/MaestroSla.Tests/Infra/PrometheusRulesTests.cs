using System.Text.RegularExpressions;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using YamlDotNet.RepresentationModel;

namespace MaestroSla.Tests.Infra;

/// <summary>
/// infra/prometheus/maestrosla-rules.yml: valid for Prometheus, each alert proven by promtool's unit tests to fire on
/// a failing series and stay quiet on a healthy one, shipped the same as a PrometheusRule, and each with a runbook.
/// </summary>
public sealed partial class PrometheusRulesTests
{
    private static readonly string Folder = Path.Combine(Repository.Root, "infra", "prometheus");
    private static readonly string RulesFile = Path.Combine(Folder, "maestrosla-rules.yml");
    private static readonly string TestsFile = Path.Combine(Folder, "maestrosla-rules.test.yml");

    [Fact]
    public async Task promtool_accepts_the_rules()
    {
        var (exitCode, output) = await Promtool.RunAsync(["check", "rules", RulesFile]);
        exitCode.ShouldBe(0, output);
        output.ShouldContain($"SUCCESS: {Alerts().Count} rules found");
    }

    [Fact]
    public async Task promtools_unit_tests_of_every_alert_pass()
    {
        var (exitCode, output) = await Promtool.RunAsync(["test", "rules", TestsFile], workingDirectory: Folder);
        exitCode.ShouldBe(0, output);
        output.ShouldContain("SUCCESS");
    }

    [Fact]
    public void every_alert_is_tested_firing_and_quiet_on_a_healthy_pipeline()
    {
        var tests = Sequence(Load(TestsFile), "tests");
        var firing = new HashSet<string>();
        var quiet = new HashSet<string>();
        foreach (var test in tests.Cast<YamlMappingNode>())
        {
            foreach (var check in Sequence(test, "alert_rule_test").Cast<YamlMappingNode>())
            {
                var alert = Scalar(check, "alertname");
                var expected = check.Children.TryGetValue(new YamlScalarNode("exp_alerts"), out var node) ? ((YamlSequenceNode)node).Children.Count : 0;
                (expected > 0 ? firing : quiet).Add(alert);
            }
        }
        var alerts = Alerts().Select(a => a.Name).ToList();
        alerts.ShouldNotBeEmpty();
        alerts.Except(firing).ShouldBeEmpty("alerts never tested firing");
        alerts.Except(quiet).ShouldBeEmpty("alerts never tested quiet");
    }

    [Fact]
    public void the_prometheus_rule_for_kubernetes_holds_the_same_groups()
    {
        var rule = Load(Path.Combine(Repository.Root, "infra", "k8s", "prometheus-rule.yaml"));
        Scalar(rule, "apiVersion").ShouldBe("monitoring.coreos.com/v1");
        Scalar(rule, "kind").ShouldBe("PrometheusRule");
        var kubernetes = Mapping(rule, "spec").Children[new YamlScalarNode("groups")];
        var prometheus = Load(RulesFile).Children[new YamlScalarNode("groups")];
        Canonical(kubernetes).ShouldBe(Canonical(prometheus));
    }

    [Fact]
    public void every_alert_has_a_severity_a_summary_and_a_runbook_section_in_the_readme()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        // GitHub's anchor of a heading: lower case, spaces to dashes, punctuation dropped.
        var anchors = Heading().Matches(readme).Select(m => NotAnchor().Replace(m.Groups[1].Value.Trim().ToLowerInvariant().Replace(' ', '-'), "")).ToHashSet();
        foreach (var (name, rule) in Alerts())
        {
            Scalar(Mapping(rule, "labels"), "severity").ShouldBeOneOf(["page", "ticket"], name);
            var annotations = Mapping(rule, "annotations");
            Scalar(annotations, "summary").ShouldNotBeNullOrWhiteSpace(name);
            var runbook = Scalar(annotations, "runbook");
            runbook.ShouldBe($"README.md#{name.ToLowerInvariant()}", name);
            anchors.ShouldContain(name.ToLowerInvariant(), $"README.md has no section '{name}' for the runbook of {name}");
        }
    }

    private static List<(string Name, YamlMappingNode Rule)> Alerts() =>
        Sequence(Load(RulesFile), "groups").Cast<YamlMappingNode>()
            .SelectMany(g => Sequence(g, "rules").Cast<YamlMappingNode>())
            .Select(r => (Scalar(r, "alert"), r))
            .ToList();

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(file)));
        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    /// <summary>A YAML tree as text with its values only (no styles, comments or positions), to compare two trees.</summary>
    private static string Canonical(YamlNode node) => node switch
    {
        YamlMappingNode map => "{" + string.Join(",", map.Children.Select(c => Canonical(c.Key) + ":" + Canonical(c.Value))) + "}",
        YamlSequenceNode sequence => "[" + string.Join(",", sequence.Children.Select(Canonical)) + "]",
        YamlScalarNode scalar => System.Text.Json.JsonSerializer.Serialize(scalar.Value),
        _ => throw new InvalidOperationException(node.NodeType.ToString()),
    };

    private static YamlMappingNode Mapping(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static YamlSequenceNode Sequence(YamlMappingNode node, string key) => (YamlSequenceNode)node.Children[new YamlScalarNode(key)];

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value!;

    [GeneratedRegex(@"(?m)^#{1,6}\s+(.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"[^a-z0-9\-_]")]
    private static partial Regex NotAnchor();
}
