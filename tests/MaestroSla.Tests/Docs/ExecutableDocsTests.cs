using System.Collections;
using System.Diagnostics;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Docs;

/// <summary>
/// Every shell example of README.md and of the READMEs and docs under src/, docs/ and infra/ runs as written, in
/// order, against one demo started with README command (a), and does what its text claims (README.md, "Executable
/// docs", defines the comments that say so). A block that neither runs nor says why not fails the test.
/// </summary>
[Collection(ExecutableDocs.Name)]
public sealed partial class ExecutableDocsTests(ITestOutputHelper output)
{
    /// <summary>README command (a), as the first block of README.md must show it.</summary>
    private const string DemoCommand = "dotnet run -c Release --project src/Api -- demo";

    // Two days of the demo month instead of thirty: the same code path and month, a fraction of the wait.
    private const string DemoDays = "2";

    private static readonly string[] ReadmeFolders = ["src", "infra"];

    private static readonly TimeSpan BlockTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task every_shell_example_in_the_docs_runs_as_written_against_the_demo_and_shows_what_its_text_claims()
    {
        var problems = new List<string>();
        var examples = DocumentFiles().SelectMany(file =>
            ShellExamples.Parse(Path.GetRelativePath(Repository.Root, file), File.ReadAllText(file), problems)).ToList();
        problems.ShouldBeEmpty(string.Join('\n', problems));
        examples.Count.ShouldBeGreaterThan(5);
        var demo = examples[0];
        demo.File.ShouldBe("README.md");
        demo.Service.ShouldBe("demo", "README.md's first block is the demo every example runs against: <!-- service: demo -->");
        var demoLine = demo.Script.Split('\n')[0];
        demoLine.Split('#')[0].Trim().ShouldBe(DemoCommand);
        examples.Skip(1).Where(e => e.Service == "demo").ShouldBeEmpty("one demo");

        var port = DocsShell.FreePort();
        var shell = new DocsShell(Repository.Root, port, Environment(port), output);
        var before = TopLevelEntries();
        var logs = Path.Combine(Path.GetTempPath(), $"maestrosla-docs-{DateTime.UtcNow:yyyyMMddTHHmmss}-{port}");
        Directory.CreateDirectory(logs);
        var failures = new List<string>();
        var service = shell.StartService(demoLine, Path.Combine(logs, "service-0-demo.log"));
        try
        {
            await service.WaitForOutputAsync("Exactly-once check:", TimeSpan.FromMinutes(15));
            service.Output.ShouldNotContain("EXACTLY-ONCE CHECK FAILED");
            service.Output.ShouldContain("MONTH=", customMessage: "the demo prints the month the README's examples use");

            var restarts = 0;
            foreach (var example in examples.Skip(1))
            {
                if (example.NotRunBecause is { } reason)
                {
                    output.WriteLine($"not run  {example.Where}: {reason}");
                    continue;
                }
                var clock = Stopwatch.StartNew();
                if (example.Service == "restart")
                {
                    await service.DisposeAsync();
                    service = shell.StartService(example.Script, Path.Combine(logs, $"service-{++restarts}.log"));
                    await service.WaitUntilReadyAsync(TimeSpan.FromMinutes(5));
                    output.WriteLine($"service  {example.Where}: ready in {clock.Elapsed.TotalSeconds:N1} s");
                    continue;
                }
                var (exit, text) = await shell.RunAsync(example, BlockTimeout);
                var wrong = Check(example, exit, text);
                output.WriteLine($"{(wrong.Count == 0 ? "ok" : "FAILED"),-8} {example.Where} (exit {exit}, {clock.Elapsed.TotalSeconds:N1} s)");
                if (wrong.Count > 0)
                {
                    failures.Add($"{example.Where}: {string.Join("; ", wrong)}\n--- block\n{shell.Localize(example.Script)}\n--- output\n{Tail(text)}");
                }
            }
        }
        finally
        {
            await service.DisposeAsync();
            RemoveNewTopLevelEntries(before);
            Directory.Delete(shell.ToolsHome, recursive: true);
        }
        failures.ShouldBeEmpty(string.Join("\n\n", failures));
    }

    [Fact]
    public void directives_are_read_from_the_comments_right_above_a_block_and_unknown_ones_are_refused()
    {
        const string markdown = """
            <!-- not run: needs Docker; and a registry -->
            ```sh
            docker compose up
            ```

            <!-- expect: exit 22; contains '"status":401' -->
            <!-- expect: not contains "secret" -->
            ```bash
            curl http://localhost:5000/api/status
            ```

            <!-- not run: a reason -->

            ```console
            $ maestrosla status
            SLA status …
            ```

            <!-- expect: contain "typo" -->
            ```sh
            true
            ```

            ```json
            {"not": "a shell block"}
            ```

            ```
            curl http://localhost:5000/api/status
            ```
            """;
        var problems = new List<string>();
        var examples = ShellExamples.Parse("X.md", markdown, problems);

        examples.Count.ShouldBe(4);
        examples[0].NotRunBecause.ShouldBe("needs Docker; and a registry");
        examples[1].Expect.ExitCode.ShouldBe(22);
        examples[1].Expect.Contains.ShouldBe(["\"status\":401"]);
        examples[1].Expect.NotContains.ShouldBe(["secret"]);
        examples[2].NotRunBecause.ShouldBeNull("a blank line separates the comment from the block");
        examples[2].Script.ShouldBe("maestrosla status");
        examples[3].Where.ShouldBe("X.md:20");
        problems.ShouldBe([
            "X.md:20: unknown directive <!-- expect: contain \"typo\" --> (see README.md, Executable docs)",
            "X.md:28: a block of commands without a language: label it ```sh",
        ]);
    }

    private static List<string> Check(ShellExample example, int exit, string text)
    {
        var wrong = new List<string>();
        if (exit != example.Expect.ExitCode)
        {
            wrong.Add($"exit {exit}, expected {example.Expect.ExitCode}");
        }
        // A terminal table or message may wrap a claimed phrase over two lines: spaces and line breaks are one.
        var flat = Whitespace().Replace(text, " ");
        bool Has(string t) => text.Contains(t, StringComparison.Ordinal) || flat.Contains(Whitespace().Replace(t, " "), StringComparison.Ordinal);
        wrong.AddRange(example.Expect.Contains.Where(t => !Has(t)).Select(t => $"output lacks \"{t}\""));
        wrong.AddRange(example.Expect.NotContains.Where(Has).Select(t => $"output contains \"{t}\""));
        return wrong;
    }

    /// <summary>README.md first, then every README under src/ and infra/ and every page under docs/, in path order.</summary>
    private static IEnumerable<string> DocumentFiles()
    {
        yield return Path.Combine(Repository.Root, "README.md");
        var more = ReadmeFolders
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(Repository.Root, d), "README.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Path.Combine(Repository.Root, "docs"), "*.md", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules"))
            .Order(StringComparer.Ordinal);
        foreach (var file in more)
        {
            yield return file;
        }
    }

    /// <summary>The reader's environment, with the test's differences: the port, a tools folder of its own, the short demo.</summary>
    private static Dictionary<string, string> Environment(int port)
    {
        var environment = new Dictionary<string, string>();
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        }
        // The examples configure the service themselves: nothing of the test process's own settings leaks in.
        // Nor what `dotnet test` sets for its test host (MSBuild's paths and switches, VSTEST_*): MSBuild reads
        // variables as properties, and `dotnet run` in a block then rebuilds what a reader's would not.
        foreach (var key in environment.Keys.Where(k => k.Contains("__", StringComparison.Ordinal) || k.StartsWith("MAESTROSLA", StringComparison.Ordinal)
            || k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k.StartsWith("_MSBUILD", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("VSTEST", StringComparison.Ordinal) || k is "DOTNET_CLI_HOME" or "UseSharedCompilation" or "DOTNET_HOST_PATH").ToList())
        {
            environment.Remove(key);
        }
        var home = Path.Combine(Path.GetTempPath(), $"maestrosla-docs-home-{port}");
        Directory.CreateDirectory(home);
        // `dotnet tool update -g` installs into this folder's .dotnet/tools (see DocsShell's prelude), not the machine's.
        environment["MAESTROSLA_DOCS_TOOLS"] = home;
        environment["PATH"] = $"{Path.Combine(home, ".dotnet", "tools")}:{environment.GetValueOrDefault("PATH")}";
        environment["DOTNET_NOLOGO"] = "1";
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        environment["MAESTROSLA_URL"] = $"http://localhost:{port}";
        environment["Demo__Days"] = DemoDays;
        environment["COLUMNS"] = "100";
        return environment;
    }

    private static HashSet<string> TopLevelEntries() =>
        Directory.EnumerateFileSystemEntries(Repository.Root).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal);

    /// <summary>What the examples wrote at the top of the checkout (.tools/, reports/, slos.yaml) goes again.</summary>
    private static void RemoveNewTopLevelEntries(HashSet<string> before)
    {
        foreach (var name in TopLevelEntries().Except(before).Where(n => n != "TestResults"))
        {
            var path = Path.Combine(Repository.Root, name);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\s+")]
    private static partial System.Text.RegularExpressions.Regex Whitespace();

    private static string Tail(string text) => text.Length > 6000 ? "…" + text[^6000..] : text;
}

/// <summary>
/// Run alone, after the parallel collections: README command (a) is `dotnet run`, which builds src/Api and may copy
/// its assemblies again while other tests start that same MaestroSla.Api.dll as a process.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ExecutableDocs
{
    public const string Name = "executable docs";
}
