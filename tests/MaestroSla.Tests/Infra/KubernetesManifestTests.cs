using System.Net;
using System.Text.RegularExpressions;
using JasperFx.Events.Daemon;
using MaestroSla.Api.Operations;
using MaestroSla.Api.Reports;
using MaestroSla.Api.Security;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Kafka;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Shouldly;
using YamlDotNet.RepresentationModel;

namespace MaestroSla.Tests.Infra;

/// <summary>infra/k8s read as Kubernetes would, checked against the Dockerfile and the application's own configuration.</summary>
public sealed partial class KubernetesManifestTests
{
    private static readonly string Folder = Path.Combine(Repository.Root, "infra", "k8s");

    /// <summary>Configuration sections of the application and the options type each binds to.</summary>
    private static readonly Dictionary<string, Type> OptionsSections = new(StringComparer.OrdinalIgnoreCase)
    {
        [KafkaIngestOptions.Section] = typeof(KafkaIngestOptions),
        ["Contract"] = typeof(ContractLimits),
        [SlaOptions.Section] = typeof(SlaOptions),
        [SecurityOptions.Section] = typeof(SecurityOptions),
        [ReportCacheOptions.Section] = typeof(ReportCacheOptions),
        [OperationsOptions.Section] = typeof(OperationsOptions),
    };

    [Fact]
    public void kustomization_applies_every_manifest_in_the_folder()
    {
        var kustomization = Load("kustomization.yaml").Single();
        var resources = Seq(kustomization, "resources").Select(r => (string)r).Order().ToList();
        var files = Directory.GetFiles(Folder, "*.yaml").Select(Path.GetFileName).Where(f => f != "kustomization.yaml").Order().ToList();
        resources.ShouldBe(files!);
    }

    [Fact]
    public void the_api_serves_only_ingest_consumes_with_ingest_readiness_and_the_projection_worker_projects_each_with_the_seed_probes()
    {
        // Serving, consuming and projecting in separate deployments, so that readiness of the pods behind the Service
        // is about serving only: a Kafka outage must not take the report API out of the load balancer.
        var api = Deployment("api");
        Int(api, "spec", "replicas").ShouldBe(3);
        var apiContainer = Container(api);
        Env(apiContainer)["Projections__Daemon"].ShouldBe(nameof(DaemonMode.Disabled));
        Env(apiContainer)["Kafka__ConsumerEnabled"].ShouldBe("false");
        Env(apiContainer).ShouldNotContainKey("Operations__ReadinessIncludesIngest");

        var ingest = Deployment("ingest");
        Int(ingest, "spec", "replicas").ShouldBe(3);
        var ingestContainer = Container(ingest);
        Env(ingestContainer)["Kafka__ConsumerEnabled"].ShouldBe("true");
        Env(ingestContainer)["Projections__Daemon"].ShouldBe(nameof(DaemonMode.Disabled));
        Env(ingestContainer)["Operations__ReadinessIncludesIngest"].ShouldBe("true");

        var worker = Deployment("projection-worker");
        Int(worker, "spec", "replicas").ShouldBe(1);
        var workerContainer = Container(worker);
        Env(workerContainer)["Kafka__ConsumerEnabled"].ShouldBe("false");
        Env(workerContainer)["Projections__Daemon"].ShouldBe(nameof(DaemonMode.HotCold));

        foreach (var container in new[] { apiContainer, ingestContainer, workerContainer })
        {
            var liveness = Map(container, "livenessProbe");
            Str(liveness, "httpGet", "path").ShouldBe("/healthz");
            Int(liveness, "initialDelaySeconds").ShouldBe(30);
            Int(liveness, "periodSeconds").ShouldBe(10);
            PortOf(container, Node(liveness, "httpGet", "port")).ShouldBe(AppPort());

            var readiness = Map(container, "readinessProbe");
            Str(readiness, "httpGet", "path").ShouldBe("/ready");
            Int(readiness, "initialDelaySeconds").ShouldBe(5);
            Int(readiness, "periodSeconds").ShouldBe(5);
            PortOf(container, Node(readiness, "httpGet", "port")).ShouldBe(AppPort());

            foreach (var kind in new[] { "requests", "limits" })
            {
                Str(container, "resources", kind, "cpu").ShouldNotBeNullOrEmpty();
                Str(container, "resources", kind, "memory").ShouldNotBeNullOrEmpty();
            }
        }
    }

    [Fact]
    public void images_ports_labels_and_selectors_agree_with_each_other_and_with_the_dockerfile()
    {
        var deployments = Manifests().Where(m => Str(m, "kind") == "Deployment").ToList();
        deployments.Count.ShouldBe(3);
        deployments.Select(d => Str(Container(d), "image")).Distinct().ShouldHaveSingleItem().ShouldNotEndWith(":latest");
        foreach (var deployment in deployments)
        {
            var labels = Map(deployment, "spec", "template", "metadata", "labels");
            Labels(Map(deployment, "spec", "selector", "matchLabels")).ShouldBeSubsetOf(Labels(labels));
            var port = Seq(Container(deployment), "ports").Cast<Dictionary<string, object>>().ShouldHaveSingleItem();
            Str(port, "name").ShouldBe("http");
            Int(port, "containerPort").ShouldBe(AppPort());
            Str(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/port").ShouldBe(AppPort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var service = Manifests().Single(m => Str(m, "kind") == "Service");
        var selector = Labels(Map(service, "spec", "selector"));
        selector.ShouldBeSubsetOf(Labels(Map(Deployment("api"), "spec", "template", "metadata", "labels")));
        foreach (var component in new[] { "ingest", "projection-worker" })
        {
            selector.IsSubsetOf(Labels(Map(Deployment(component), "spec", "template", "metadata", "labels")))
                .ShouldBeFalse($"the {component} pods must not receive API traffic");
        }
        var servicePort = Seq(service, "spec", "ports").Cast<Dictionary<string, object>>().ShouldHaveSingleItem();
        PortOf(Container(Deployment("api")), servicePort["targetPort"]).ShouldBe(AppPort());

        var budgets = Manifests().Where(m => Str(m, "kind") == "PodDisruptionBudget").ToList();
        foreach (var component in new[] { "api", "ingest" })
        {
            var deployment = Deployment(component);
            var budget = budgets.Single(b => Labels(Map(b, "spec", "selector", "matchLabels")).SetEquals(Labels(Map(deployment, "spec", "selector", "matchLabels"))));
            Int(budget, "spec", "minAvailable").ShouldBeLessThan(Int(deployment, "spec", "replicas"));
        }

        var names = Manifests().Where(m => Str(m, "kind") is "ConfigMap" or "Secret").Select(m => Str(m, "metadata", "name")).ToHashSet();
        foreach (var deployment in deployments)
        {
            foreach (var source in Seq(Container(deployment), "envFrom").Cast<Dictionary<string, object>>())
            {
                var reference = source.TryGetValue("configMapRef", out var c) ? c : source["secretRef"];
                names.ShouldContain(Str((Dictionary<string, object>)reference, "name"));
            }
        }
    }

    [Fact]
    public void every_environment_variable_the_pods_read_is_a_configuration_key_the_application_binds()
    {
        var variables = PodEnvironment();
        variables.Keys.ShouldContain("ConnectionStrings__Marten");
        foreach (var name in variables.Keys)
        {
            EnvName().IsMatch(name).ShouldBeTrue($"'{name}' is not a valid Kubernetes environment variable name");
        }
        AssertConfigurationKeys(variables);

        // Values bind to their types; the only validation failures are the Secret's deliberate placeholders.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(variables.Select(v => KeyValuePair.Create(v.Key.Replace("__", ":", StringComparison.Ordinal), (string?)v.Value))).Build();
        var security = configuration.GetSection(SecurityOptions.Section).Get<SecurityOptions>()!;
        security.RequireApiKeys.ShouldBeTrue();
        security.ApiKeys.Select(k => k.Roles.Single()).ShouldBe([ApiRoles.Admin, ApiRoles.Ingest, ApiRoles.Read]);
        new SecurityOptionsValidator().Validate(null, security).Failures!.ShouldAllBe(f => f.Contains(":KeyHash must be the SHA-256"));
        new ReportCacheOptionsValidator().Validate(null, configuration.GetSection(ReportCacheOptions.Section).Get<ReportCacheOptions>()!).Succeeded.ShouldBeTrue();
        configuration.GetSection(KafkaIngestOptions.Section).Get<KafkaIngestOptions>()!.Client.Keys.ShouldContain("sasl.password");
    }

    [Fact]
    public void secrets_are_in_the_secret_and_nowhere_else()
    {
        var configMap = Data(Manifests().Single(m => Str(m, "kind") == "ConfigMap"), "data");
        var secret = Data(Manifests().Single(m => Str(m, "kind") == "Secret"), "stringData");
        foreach (var name in new[] { "ConnectionStrings__Marten", "Kafka__Client__sasl.password", "Security__ApiKeys__0__KeyHash" })
        {
            secret.Keys.ShouldContain(name);
        }
        configMap.Keys.ShouldAllBe(k => !k.Contains("password", StringComparison.OrdinalIgnoreCase) && !k.Contains("KeyHash") && !k.StartsWith("ConnectionStrings"));
        foreach (var deployment in Manifests().Where(m => Str(m, "kind") == "Deployment"))
        {
            Env(Container(deployment)).Keys.ShouldAllBe(k => !k.Contains("password", StringComparison.OrdinalIgnoreCase) && !k.Contains("KeyHash") && !k.StartsWith("ConnectionStrings"));
        }
    }

    [Fact]
    public void the_compose_file_sets_only_configuration_keys_and_publishes_the_port_the_image_listens_on()
    {
        var compose = YamlObjects(File.ReadAllText(Path.Combine(Repository.Root, "infra", "docker-compose.yml"))).Single();
        var app = Map(compose, "services", "maestrosla");
        AssertConfigurationKeys(Data(app, "environment"));
        Seq(app, "ports").Select(p => (string)p).ShouldContain($"{AppPort()}:{AppPort()}");
    }

    /// <summary>The manifests' probe paths answer on the real application, without an API key.</summary>
    [Collection(SharedServices.Name)]
    public sealed class ProbePaths(ServicesFixture services)
    {
        [Fact]
        public async Task the_probe_paths_of_the_manifests_are_served_by_the_application_without_a_key()
        {
            var paths = Manifests().Where(m => Str(m, "kind") == "Deployment")
                .SelectMany(d => new[] { Str(Container(d), "livenessProbe", "httpGet", "path"), Str(Container(d), "readinessProbe", "httpGet", "path") })
                .Distinct()
                .ToList();
            paths.ShouldBe(["/healthz", "/ready"], ignoreOrder: true);

            await using var app = await RunningApp.StartAsync(await services.CreateDatabaseAsync());
            using var anonymous = app.CreateClient(null);
            foreach (var path in paths)
            {
                // 503 is a fine answer from /ready (not ready yet); 404 or 401 would leave pods forever unready.
                var response = await anonymous.GetAsync(path);
                response.StatusCode.ShouldBeOneOf([HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable], $"{path}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    private static void AssertConfigurationKeys(IReadOnlyDictionary<string, string> variables)
    {
        var problems = new List<string>();
        foreach (var (name, value) in variables)
        {
            if (name.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || name.StartsWith("DOTNET_", StringComparison.Ordinal))
            {
                if (name is not ("ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS" or "ASPNETCORE_ENVIRONMENT" or "DOTNET_ENVIRONMENT"))
                {
                    problems.Add($"{name}: not a host setting the application uses");
                }
                continue;
            }
            var key = name.Replace("__", ":", StringComparison.Ordinal);
            var section = key.Split(':')[0];
            if (OptionsSections.TryGetValue(section, out var type))
            {
                // The binder itself says whether the key names a property (or a dictionary entry / list item).
                var configuration = new ConfigurationBuilder().AddInMemoryCollection([KeyValuePair.Create(key, (string?)value)]).Build();
                try
                {
                    configuration.GetSection(section).Get(type, o => o.ErrorOnUnknownConfiguration = true);
                }
                catch (InvalidOperationException ex)
                {
                    problems.Add($"{name}: {ex.Message}");
                }
            }
            else if (key == "ConnectionStrings:Marten" || key.StartsWith("Logging:LogLevel:", StringComparison.Ordinal))
            {
            }
            else if (key == "Projections:Daemon")
            {
                if (!Enum.TryParse<DaemonMode>(value, ignoreCase: true, out _))
                {
                    problems.Add($"{name}: '{value}' is not one of {string.Join(", ", Enum.GetNames<DaemonMode>())}");
                }
            }
            else
            {
                problems.Add($"{name}: no configuration key '{key}' in the application");
            }
        }
        problems.ShouldBeEmpty();
    }

    /// <summary>What a pod's process sees: the ConfigMap and Secret (envFrom) overlaid by the container's own env, for both deployments.</summary>
    private static Dictionary<string, string> PodEnvironment()
    {
        var variables = new Dictionary<string, string>(Data(Manifests().Single(m => Str(m, "kind") == "ConfigMap"), "data"));
        foreach (var (key, value) in Data(Manifests().Single(m => Str(m, "kind") == "Secret"), "stringData"))
        {
            variables[key] = value;
        }
        foreach (var deployment in Manifests().Where(m => Str(m, "kind") == "Deployment"))
        {
            foreach (var (key, value) in Env(Container(deployment)))
            {
                variables[key] = value;
            }
        }
        return variables;
    }

    private static int AppPort()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Repository.Root, "infra", "Dockerfile"));
        var urlPort = int.Parse(UrlsPort().Match(dockerfile).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var exposed = int.Parse(ExposePort().Match(dockerfile).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        exposed.ShouldBe(urlPort, "the Dockerfile must EXPOSE the port ASPNETCORE_URLS listens on");
        return urlPort;
    }

    private static int PortOf(Dictionary<string, object> container, object port)
    {
        var text = (string)port;
        if (int.TryParse(text, out var number))
        {
            return number;
        }
        var named = Seq(container, "ports").Cast<Dictionary<string, object>>().SingleOrDefault(p => Str(p, "name") == text);
        named.ShouldNotBeNull($"no container port named '{text}'");
        return Int(named, "containerPort");
    }

    private static Dictionary<string, object> Deployment(string component) =>
        Manifests().Single(m => Str(m, "kind") == "Deployment" && Str(m, "metadata", "labels", "app.kubernetes.io/component") == component);

    private static Dictionary<string, object> Container(Dictionary<string, object> deployment) =>
        Seq(deployment, "spec", "template", "spec", "containers").Cast<Dictionary<string, object>>().ShouldHaveSingleItem();

    private static Dictionary<string, string> Env(Dictionary<string, object> container) =>
        Seq(container, "env").Cast<Dictionary<string, object>>().ToDictionary(e => Str(e, "name"), e => Str(e, "value"));

    private static Dictionary<string, string> Data(Dictionary<string, object> manifest, string field) =>
        Map(manifest, field).ToDictionary(e => e.Key, e => (string)e.Value);

    private static HashSet<string> Labels(Dictionary<string, object> labels) => labels.Select(l => $"{l.Key}={l.Value}").ToHashSet();

    private static List<Dictionary<string, object>> Manifests() =>
        Directory.GetFiles(Folder, "*.yaml").Where(f => Path.GetFileName(f) != "kustomization.yaml").SelectMany(f => Load(Path.GetFileName(f))).ToList();

    private static List<Dictionary<string, object>> Load(string file) => YamlObjects(File.ReadAllText(Path.Combine(Folder, file)));

    private static List<Dictionary<string, object>> YamlObjects(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => (Dictionary<string, object>)ToObject(d.RootNode)).ToList();
    }

    /// <summary>Mappings as dictionaries, sequences as lists, scalars as their text (as Kubernetes reads them, quoted or not).</summary>
    private static object ToObject(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => ToObject(c.Value)),
        YamlSequenceNode sequence => sequence.Children.Select(ToObject).ToList(),
        YamlScalarNode scalar => scalar.Value ?? "",
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}"),
    };

    private static object Node(Dictionary<string, object> root, params string[] path)
    {
        object current = root;
        foreach (var step in path)
        {
            var map = current as Dictionary<string, object>;
            map.ShouldNotBeNull($"'{step}' of {string.Join(".", path)} is not under a mapping");
            map.TryGetValue(step, out var next).ShouldBeTrue($"missing {string.Join(".", path)}");
            current = next!;
        }
        return current;
    }

    private static Dictionary<string, object> Map(Dictionary<string, object> root, params string[] path) => (Dictionary<string, object>)Node(root, path);

    private static List<object> Seq(Dictionary<string, object> root, params string[] path) => (List<object>)Node(root, path);

    private static string Str(Dictionary<string, object> root, params string[] path) => (string)Node(root, path);

    private static int Int(Dictionary<string, object> root, params string[] path) => int.Parse(Str(root, path), System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex(@"ASPNETCORE_URLS=http://\+:(\d+)")]
    private static partial Regex UrlsPort();

    [GeneratedRegex(@"(?m)^EXPOSE\s+(\d+)")]
    private static partial Regex ExposePort();
}
