using System.Text.Json;
using MaestroSla.Local.Traffic;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Security;
using Shouldly;

namespace MaestroSla.Tests.Otlp;

/// <summary>
/// The OpenTelemetry JS SDK from npm (sdk-trace-base with the OTLP/HTTP JSON exporter), run by node as a Node.js
/// service runs it, exports SERVER spans whose start and end the test chose to the nanosecond: the SLA report over the
/// API must hold exactly those requests, errors and latencies; the CLIENT and INTERNAL spans beside them count for
/// nothing.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class OpenTelemetryJsSdkTests(ServicesFixture services)
{
    private const string Service = "shop-node";
    private const long NanosPerSecond = 1_000_000_000;

    [Fact]
    public async Task spans_exported_by_the_js_sdk_give_their_exact_requests_errors_and_percentiles()
    {
        var script = OtelJsScript.Require();
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var maestro = await SecuredApp.StartAsync(harness.ConnectionString);

        var now = DateTimeOffset.UtcNow;
        var from = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(-12);
        var nowNanos = (now - DateTimeOffset.UnixEpoch).Ticks * 100;
        var random = new Random(2027);
        var spans = new List<Dictionary<string, object>>();
        var expected = new List<(string Endpoint, long Micros, bool Error)>();
        (string Method, string Route)[] routes = [("GET", "/catalog/{id}"), ("POST", "/cart"), ("POST", "/checkout")];
        for (var i = 0; i < 2_000; i++)
        {
            var (method, route) = routes[random.Next(routes.Length)];
            // Log-normal around 20 ms, to the nanosecond, at most a minute; ended within the last ten minutes.
            var durationNanos = Math.Min(60 * NanosPerSecond, (long)(20_000_000 * Math.Exp(0.8 * random.Gaussian()))) + random.Next(1_000);
            var endNanos = nowNanos - random.NextInt64(600 * NanosPerSecond);
            var status = random.NextDouble() < 0.03 ? 500 + random.Next(4) : 200;
            var failed = status == 200 && random.NextDouble() < 0.01;
            string endpoint;
            Dictionary<string, object> attributes;
            if (i % 10 == 0)
            {
                // Older semantic conventions: the target without its query is the endpoint.
                endpoint = $"{method} /legacy/items";
                attributes = new() { ["http.method"] = method, ["http.target"] = $"/legacy/items?page={i}", ["http.status_code"] = status };
            }
            else
            {
                endpoint = $"{method} {route}";
                attributes = new() { ["http.request.method"] = method, ["http.route"] = route, ["http.response.status_code"] = status };
            }
            spans.Add(Span(endpoint, "SERVER", endNanos - durationNanos, endNanos, attributes, failed));
            // As MaestroSla keeps a latency: whole microseconds, rounded half up.
            expected.Add((endpoint, (durationNanos + 500) / 1000, status >= 500 || failed));
        }
        for (var i = 0; i < 150; i++)
        {
            // A service's outgoing calls and internal work: not requests it served.
            var endNanos = nowNanos - random.NextInt64(600 * NanosPerSecond);
            spans.Add(Span(i % 3 == 0 ? "load prices" : "GET", i % 3 == 0 ? "INTERNAL" : "CLIENT", endNanos - 5_000_000, endNanos,
                new() { ["http.request.method"] = "GET", ["http.response.status_code"] = 500 }, failed: true));
        }

        var spec = Path.Combine(Path.GetTempPath(), $"otel-js-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(spec, JsonSerializer.Serialize(new
        {
            url = new Uri(maestro.Address, "/v1/traces").ToString(),
            apiKey = SecuredApp.IngestKey,
            service = Service,
            spans,
        }));
        try
        {
            var (exitCode, output, errors) = await script.RunAsync(spec, TimeSpan.FromMinutes(4));
            exitCode.ShouldBe(0, errors);
            output.Trim().ShouldBe($"{{\"exported\":{spans.Count}}}", errors);
        }
        finally
        {
            File.Delete(spec);
        }

        (await harness.WaitForStoredRequestsAsync(expected.Count, TimeSpan.FromSeconds(60))).ShouldBe(expected.Count);
        var to = from.AddMinutes(15);
        var report = await ExactReport.GetAsync(maestro, Service, from, to);
        ExactReport.ShouldMatch(report, expected.Select(e => (e.Micros, e.Error)).ToList(), Service);
        foreach (var endpoint in expected.GroupBy(e => e.Endpoint))
        {
            var ofEndpoint = await ExactReport.GetAsync(maestro, Service, from, to, endpoint.Key);
            ExactReport.ShouldMatch(ofEndpoint, endpoint.Select(e => (e.Micros, e.Error)).ToList(), endpoint.Key);
        }
    }

    /// <summary>A span for the script: HrTime start and end ([seconds, nanoseconds]), which the SDK keeps exactly.</summary>
    private static Dictionary<string, object> Span(string name, string kind, long startNanos, long endNanos, Dictionary<string, object> attributes, bool failed) => new()
    {
        ["name"] = name,
        ["kind"] = kind,
        ["start"] = new[] { startNanos / NanosPerSecond, startNanos % NanosPerSecond },
        ["end"] = new[] { endNanos / NanosPerSecond, endNanos % NanosPerSecond },
        ["attributes"] = attributes,
        ["error"] = failed,
    };

    /// <summary>
    /// Node and tests/otel-js with its npm packages. Missing ones fail the test naming the fix (./test.sh installs
    /// them): a skipped SDK test would let a receiver that real exporters cannot use pass unnoticed.
    /// </summary>
    private sealed record OtelJsScript(string Node, string Folder)
    {
        public static OtelJsScript Require()
        {
            var folder = Path.Combine(Repository.Root, "tests", "otel-js");
            var node = NodeScripts.FindNode();
            var problems = new List<string>();
            if (node is null)
            {
                problems.Add("node is not on PATH (Debian: apt-get install nodejs)");
            }
            if (!File.Exists(Path.Combine(folder, "node_modules", "@opentelemetry", "sdk-trace-base", "package.json")))
            {
                problems.Add("the OpenTelemetry JS packages are not installed (run: npm ci --prefix tests/otel-js)");
            }
            if (problems.Count > 0)
            {
                Assert.Fail("The OpenTelemetry JS SDK test needs Node.js and tests/otel-js's packages; ./test.sh installs them.\n  - " + string.Join("\n  - ", problems));
            }
            return new OtelJsScript(node!, folder);
        }

        public Task<(int ExitCode, string Output, string Errors)> RunAsync(string spec, TimeSpan timeout) =>
            NodeScripts.RunAsync(Node, Folder, "export-spans.mjs", [spec], new Dictionary<string, string>(), timeout);
    }
}
