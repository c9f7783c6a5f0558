using MaestroSla.Tests.Infrastructure;

namespace MaestroSla.Tests.Dashboard;

/// <summary>
/// Node, Debian's Chromium and playwright-core for the browser test. Missing tools fail the test with what to
/// install (.ci/run installs them): a skipped browser test would let a broken dashboard pass unnoticed.
/// </summary>
public sealed record BrowserTools(string Node, string Chromium, string ScriptFolder)
{
    /// <summary>The check to run in tests/browser (dashboard.mjs, or statement.mjs for the printable statement).</summary>
    public string ScriptName { get; init; } = "dashboard.mjs";

    public string Script => Path.Combine(ScriptFolder, ScriptName);

    public static BrowserTools Require()
    {
        var folder = Path.Combine(Repository.Root, "tests", "browser");
        var chromium = Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";
        var node = NodeScripts.FindNode();
        var problems = new List<string>();
        if (node is null)
        {
            problems.Add("node is not on PATH (Debian: apt-get install nodejs)");
        }
        if (!File.Exists(chromium))
        {
            problems.Add($"{chromium} does not exist (Debian: apt-get install chromium, or set CHROMIUM_PATH)");
        }
        if (!File.Exists(Path.Combine(folder, "node_modules", "playwright-core", "package.json")))
        {
            problems.Add("playwright-core is not installed in tests/browser (run: npm ci --prefix tests/browser)");
        }
        if (problems.Count > 0)
        {
            Assert.Fail("The dashboard browser test needs Node.js, Chromium and playwright-core; .ci/run installs them.\n  - " + string.Join("\n  - ", problems));
        }
        return new BrowserTools(node!, chromium, folder);
    }

    public Task<(int ExitCode, string Output, string Errors)> RunAsync(IEnumerable<string> arguments, IDictionary<string, string> environment, TimeSpan timeout) =>
        NodeScripts.RunAsync(Node, ScriptFolder, ScriptName, arguments, new Dictionary<string, string>(environment) { ["CHROMIUM_PATH"] = Chromium }, timeout);
}
