using JasperFx.CodeGeneration;
using JasperFx.CodeGeneration.Model;
using MaestroSla.Api.Hosting;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Hosting;

/// <summary>
/// The service runs Wolverine's endpoints and handlers from the code committed in src/Api/Internal/Generated
/// (TypeLoadMode.Static, no compiler in the process). This generates that code again from today's endpoints and
/// handlers, as `codegen write` does, and fails when the committed files are not what it writes.
/// </summary>
[Collection(GeneratedCodeAlone.Name)]
[Trait("Category", "Unit")]
public sealed class GeneratedCodeTests
{
    private const string WriteCommand = "dotnet run -c Release --project src/Api -- codegen write";

    [Fact]
    public async Task The_committed_generated_code_is_what_codegen_write_writes_today()
    {
        var committed = Path.Combine(Repository.Root, "src", "Api", "Internal", "Generated");
        var written = Directory.CreateTempSubdirectory("maestrosla-codegen-");
        try
        {
            // Built, never started: nothing connects to this database.
            await using var app = await MaestroApp.BuildAsync([], new Dictionary<string, string?>
            {
                ["ConnectionStrings:Marten"] = "Host=127.0.0.1;Port=1;Database=unused;Username=unused",
            });
            var collections = app.Services.GetServices<ICodeFileCollection>().ToArray();
            collections.ShouldNotBeEmpty();
            foreach (var collection in collections)
            {
                collection.Rules.GeneratedCodeOutputPath = written.FullName;
            }
            var builder = new DynamicCodeBuilder(app.Services, collections)
            {
                ServiceVariableSource = app.Services.GetService<IServiceVariableSource>(),
            };
            builder.WriteGeneratedCode(_ => { });

            var expected = Files(written.FullName);
            var actual = Files(committed);
            expected.Keys.ShouldNotBeEmpty();
            var missing = expected.Keys.Except(actual.Keys).Order().ToList();
            var stale = actual.Keys.Except(expected.Keys).Order().ToList();
            var changed = expected.Keys.Intersect(actual.Keys).Where(k => expected[k] != actual[k]).Order().ToList();
            (missing.Count + stale.Count + changed.Count).ShouldBe(0,
                $"src/Api/Internal/Generated is out of date — run `{WriteCommand}` (after deleting the folder when files are stale). " +
                $"Missing: [{string.Join(", ", missing)}]; not generated any more: [{string.Join(", ", stale)}]; changed: [{string.Join(", ", changed)}]");
        }
        finally
        {
            written.Delete(recursive: true);
        }
    }

    private static Dictionary<string, string> Files(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), f => File.ReadAllText(f).ReplaceLineEndings("\n"))
            : [];
}

/// <summary>
/// Alone, after the parallel collections: generating code sets JasperFx's process-wide "within the codegen command"
/// flag for its duration, which a host starting beside it would read.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GeneratedCodeAlone
{
    public const string Name = "generated code";
}
