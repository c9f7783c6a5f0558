using System.Text.RegularExpressions;

namespace MaestroSla.Tests.Docs;

/// <summary>What a block claims besides "it runs": its exit code and text its output must (not) contain.</summary>
public sealed record Expectation(int ExitCode, IReadOnlyList<string> Contains, IReadOnlyList<string> NotContains);

/// <summary>
/// One ```bash / ```sh / ```shell / ```console block of a Markdown file with the HTML comments right above it
/// (README.md, "Executable docs", defines them).
/// </summary>
public sealed record ShellExample(string File, int Line, string Script, string? NotRunBecause, string? Service, Expectation Expect)
{
    public string Where => $"{File}:{Line}";
}

/// <summary>Finds the shell examples of a Markdown file and reads the directives in the comments before each.</summary>
public static partial class ShellExamples
{
    private static readonly HashSet<string> ShellLanguages = ["bash", "sh", "shell", "console"];

    public static IReadOnlyList<ShellExample> Parse(string file, string markdown, List<string> problems)
    {
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        var examples = new List<ShellExample>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success)
            {
                continue;
            }
            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].TrimStart().StartsWith(fence.Groups["fence"].Value, StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }
            var language = fence.Groups["lang"].Value.Trim().ToLowerInvariant();
            if (language.Length == 0 && body.FirstOrDefault(l => l.Trim().Length > 0) is { } first && LooksLikeCommand().IsMatch(first))
            {
                // Commands in an unlabelled block would escape the test: say which language they are.
                problems.Add($"{file}:{start + 1}: a block of commands without a language: label it ```sh");
            }
            if (!ShellLanguages.Contains(language))
            {
                continue;
            }
            var where = $"{file}:{start + 1}";
            var script = language == "console"
                ? string.Join('\n', body.Where(l => l.StartsWith("$ ", StringComparison.Ordinal)).Select(l => l[2..]))
                : string.Join('\n', body);
            examples.Add(WithDirectives(file, start + 1, script, CommentsAbove(lines, start), where, problems));
        }
        return examples;
    }

    private static ShellExample WithDirectives(string file, int line, string script, List<string> comments, string where, List<string> problems)
    {
        string? notRun = null;
        string? service = null;
        var exit = 0;
        var contains = new List<string>();
        var notContains = new List<string>();
        foreach (var comment in comments)
        {
            var keyword = "";
            // A reason is free text: `not run:` takes the whole comment, semicolons included.
            var parts = comment.StartsWith("not run:", StringComparison.Ordinal)
                ? [comment]
                : comment.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var part in parts)
            {
                // `expect: exit 22; contains "x"`: the parts after the first carry its keyword.
                var directive = Keyword().IsMatch(part)
                    ? part
                    : keyword + part;
                keyword = Keyword().Match(directive) is { Success: true } own ? own.Value + " " : "";
                Match m;
                if ((m = NotRun().Match(directive)).Success)
                {
                    notRun = m.Groups["reason"].Value.Trim();
                    if (notRun.Length == 0)
                    {
                        problems.Add($"{where}: `not run:` needs a reason");
                    }
                }
                else if ((m = ServiceDirective().Match(directive)).Success)
                {
                    service = m.Groups["what"].Value;
                }
                else if ((m = ExpectExit().Match(directive)).Success)
                {
                    exit = int.Parse(m.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture);
                }
                else if ((m = ExpectContains().Match(directive)).Success)
                {
                    (m.Groups["not"].Success ? notContains : contains).Add(m.Groups["text"].Value);
                }
                else
                {
                    problems.Add($"{where}: unknown directive <!-- {directive} --> (see README.md, Executable docs)");
                }
            }
        }
        return new ShellExample(file, line, script, notRun, service, new Expectation(exit, contains, notContains));
    }

    /// <summary>The HTML comments on the lines directly above a fence (no blank line between), top to bottom.</summary>
    private static List<string> CommentsAbove(string[] lines, int fence)
    {
        var comments = new List<string>();
        for (var i = fence - 1; i >= 0 && Comment().Match(lines[i]) is { Success: true } m; i--)
        {
            comments.Insert(0, m.Groups["text"].Value.Trim());
        }
        return comments;
    }

    [GeneratedRegex(@"^\s*(\$ )?(dotnet|curl|maestrosla|docker|kubectl|helm|npm|openssl|printf|export|bench/|\./)")]
    private static partial Regex LooksLikeCommand();

    [GeneratedRegex(@"^(not run|service|expect):")]
    private static partial Regex Keyword();

    [GeneratedRegex(@"^\s*(?<fence>```+)(?<lang>[^`]*)$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*<!--(?<text>.*)-->\s*$")]
    private static partial Regex Comment();

    [GeneratedRegex(@"^not run:(?<reason>.*)$")]
    private static partial Regex NotRun();

    [GeneratedRegex(@"^service:\s*(?<what>demo|restart)$")]
    private static partial Regex ServiceDirective();

    [GeneratedRegex(@"^expect:\s*exit\s+(?<code>\d+)$")]
    private static partial Regex ExpectExit();

    [GeneratedRegex(@"^expect:\s*(?<not>not\s+)?contains\s+(?<q>[""'])(?<text>.*)\k<q>$")]
    private static partial Regex ExpectContains();
}
