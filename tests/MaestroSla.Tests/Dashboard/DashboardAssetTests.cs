using System.Text.Json;
using MaestroSla.Api.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Dashboard;

/// <summary>
/// The dashboard loads uPlot from src/Api/wwwroot/lib/uplot, a copy of the npm package pinned by
/// tests/browser/package-lock.json (copied by `npm run vendor-uplot` there). These checks keep the copy, the
/// lockfile and what the service serves the same bytes.
/// </summary>
public sealed class DashboardAssetTests
{
    private static readonly string[] Vendored = ["dist/uPlot.iife.min.js", "dist/uPlot.min.css", "LICENSE"];

    [Fact]
    public void the_vendored_uplot_files_are_the_locked_npm_packages_files_and_are_embedded_as_they_are()
    {
        var package = Path.Combine(Repository.Root, "tests", "browser", "node_modules", "uplot");
        if (!File.Exists(Path.Combine(package, "package.json")))
        {
            Assert.Fail("tests/browser/node_modules/uplot is missing: run `npm ci --prefix tests/browser` (.ci/run does)");
        }

        using var lockFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(Repository.Root, "tests", "browser", "package-lock.json")));
        using var installed = JsonDocument.Parse(File.ReadAllText(Path.Combine(package, "package.json")));
        var locked = lockFile.RootElement.GetProperty("packages").GetProperty("node_modules/uplot").GetProperty("version").GetString();
        installed.RootElement.GetProperty("version").GetString().ShouldBe(locked, "node_modules is stale: run npm ci in tests/browser");

        var assembly = typeof(DashboardStaticFiles).Assembly;
        foreach (var file in Vendored)
        {
            var name = Path.GetFileName(file);
            var vendored = File.ReadAllBytes(Path.Combine(Repository.Root, "src", "Api", "wwwroot", "lib", "uplot", name));
            vendored.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(package, file))).ShouldBeTrue($"wwwroot/lib/uplot/{name} differs from uplot@{locked}: run `npm run vendor-uplot` in tests/browser");

            using var embedded = assembly.GetManifestResourceStream($"MaestroSla.Api.wwwroot.lib.uplot.{name}");
            embedded.ShouldNotBeNull($"{name} is not embedded in MaestroSla.Api");
            using var copy = new MemoryStream();
            embedded.CopyTo(copy);
            copy.ToArray().AsSpan().SequenceEqual(vendored).ShouldBeTrue($"the embedded {name} is stale: rebuild src/Api");
        }
    }
}
