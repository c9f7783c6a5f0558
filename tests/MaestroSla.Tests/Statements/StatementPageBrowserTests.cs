using System.Globalization;
using System.Text.Json;
using MaestroSla.Api.Security;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Statements;

/// <summary>The printable statement page in headless Chromium: the figures it shows are the API's, and it prints to PDF without its controls.</summary>
[Collection(SharedServices.Name)]
public sealed class StatementPageBrowserTests(ServicesFixture services, ITestOutputHelper output)
{
    private const string ApiKey = "statement-browser-test";

    [Fact]
    public async Task the_statement_page_shows_the_apis_figures_and_prints_to_pdf_without_its_controls()
    {
        var browser = BrowserTools.Require() with { ScriptName = "statement.mjs" };
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Security:ApiKeys:1:Name"] = "statements",
            ["Security:ApiKeys:1:KeyHash"] = ApiKeyHash.Of(ApiKey),
            ["Security:ApiKeys:1:Roles:0"] = ApiRoles.Read,
        });
        await data.PostAsync(app);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract());
        var statement = await StatementTests.GetAsync(app, $"/api/contracts/acme/statements/{data.Month}");

        var pdf = Path.Combine(Repository.Root, "TestResults", $"statement-acme-{data.Month}.pdf");
        Directory.CreateDirectory(Path.GetDirectoryName(pdf)!);
        var (exitCode, stdout, stderr) = await browser.RunAsync(
            [app.Client.BaseAddress!.ToString().TrimEnd('/'), "acme", data.Month, pdf],
            new Dictionary<string, string> { ["MAESTROSLA_API_KEY"] = ApiKey }, TimeSpan.FromMinutes(3));
        output.WriteLine(stderr);
        exitCode.ShouldBe(0, $"the browser check failed:\n{stderr}\n{stdout}");
        var page = JsonDocument.Parse(stdout).RootElement;

        page.GetProperty("consoleErrors").GetArrayLength().ShouldBe(0, stdout);
        page.GetProperty("customer").GetString().ShouldBe("acme");
        page.GetProperty("month").GetString().ShouldBe(data.Month);
        page.GetProperty("status").GetString().ShouldBe("final");
        page.GetProperty("contractVersion").GetString().ShouldBe("1");
        page.GetProperty("overall").GetString().ShouldBe("BREACHED");
        page.GetProperty("credit").GetString().ShouldBe("10 %");
        page.GetProperty("windows").GetInt32().ShouldBe(2);
        var metrics = page.GetProperty("metrics").EnumerateArray().ToList();
        metrics.Select(m => m.GetProperty("metric").GetString()).ShouldBe(statement.Metrics.Select(m => m.Metric));
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = statement.Metrics[i];
            metrics[i].GetProperty("actual").GetString().ShouldBe(
                m.Actual!.Value.ToString(m.Unit == "ms" ? "N1" : "N4", CultureInfo.InvariantCulture) + " " + m.Unit);
            metrics[i].GetProperty("result").GetString().ShouldBe(m.Status);
        }
        var rows = page.GetProperty("services").EnumerateArray().ToList();
        rows.Select(r => r.GetProperty("service").GetString()).ShouldBe(["alpha", "beta", "(combined)"]);
        foreach (var (row, figures) in rows.Zip(statement.Services.Append(statement.Combined!)))
        {
            row.GetProperty("requests").GetString().ShouldBe(figures.Requests.ToString("N0", CultureInfo.InvariantCulture));
            row.GetProperty("excluded").GetString().ShouldBe(figures.ExcludedRequests.ToString("N0", CultureInfo.InvariantCulture));
            row.GetProperty("uptime").GetProperty("raw").GetDouble().ShouldBe(figures.UptimePercent.Raw!.Value);
            row.GetProperty("uptime").GetProperty("adjusted").GetDouble().ShouldBe(figures.UptimePercent.Adjusted!.Value);
            row.GetProperty("uptime").GetProperty("text").GetString().ShouldBe(
                $"{figures.UptimePercent.Raw.Value.ToString("N4", CultureInfo.InvariantCulture)} / {figures.UptimePercent.Adjusted.Value.ToString("N4", CultureInfo.InvariantCulture)}");
            row.GetProperty("availability").GetProperty("adjusted").GetDouble().ShouldBe(figures.AvailabilityPercent.Adjusted!.Value);
            row.GetProperty("result").GetString().ShouldBe(figures.Status);
        }
        page.GetProperty("api").GetProperty("withKey").GetInt32().ShouldBe(page.GetProperty("api").GetProperty("requests").GetInt32());

        page.GetProperty("print").GetProperty("header").GetString().ShouldBe("none", "the controls are not printed");
        page.GetProperty("print").GetProperty("statement").GetString().ShouldNotBe("none");
        page.GetProperty("pdf").GetProperty("magic").GetString().ShouldBe("%PDF-");
        page.GetProperty("pdf").GetProperty("bytes").GetInt32().ShouldBeGreaterThan(10_000);
        File.Exists(pdf).ShouldBeTrue();
    }
}
