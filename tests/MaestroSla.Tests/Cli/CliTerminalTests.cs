using System.Globalization;
using MaestroSla.Api.Security;
using MaestroSla.Cli;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Spectre.Console;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Cli;

/// <summary>The CLI in an 80-column terminal, and what it prints when the API refuses a key.</summary>
[Collection(SharedServices.Name)]
public sealed class CliTerminalTests(ServicesFixture services, ITestOutputHelper output)
{
    private const string ReaderKey = "cli-terminal-tests-checkout-reader";

    [Fact]
    public async Task status_fits_80_columns_without_breaking_a_verdict_and_refusals_print_the_servers_title_and_detail()
    {
        var checkout = MonthOfTelemetry.PreviousMonth("checkout", "UTC", requests: 5_000, seed: 31);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Security:ApiKeys:1:Name"] = "grafana",
            ["Security:ApiKeys:1:KeyHash"] = ApiKeyHash.Of(ReaderKey),
            ["Security:ApiKeys:1:Roles:0"] = ApiRoles.Read,
            ["Security:ApiKeys:1:Services:0"] = "checkout",
        });
        await checkout.PostAsync(app);
        await MonthOfTelemetry.PreviousMonth("payments", "UTC", requests: 5_000, seed: 32).PostAsync(app);
        var url = app.Client.BaseAddress!.ToString();

        var (exit, status) = await RunAsync(80, RunningApp.AdminKey, "status", "--month", checkout.Month, "--url", url);
        output.WriteLine(status);
        exit.ShouldBe(0, status);
        var lines = status.ReplaceLineEndings("\n").Split('\n');
        lines.ShouldAllBe(l => l.Length <= 80);
        foreach (var service in new[] { "checkout", "payments" })
        {
            // The service's row holds its verdict whole, not "BREACHE" over "D".
            lines.Single(l => l.Contains(service, StringComparison.Ordinal)).ShouldMatch(@"\b(BREACHED|met|no data)\b");
        }
        lines.ShouldNotContain(l => l.Trim() == "D" || l.Contains("BREACHE ", StringComparison.Ordinal));

        var (forbiddenExit, forbidden) = await RunAsync(200, ReaderKey, "report", "payments", "--month", checkout.Month, "--url", url);
        forbiddenExit.ShouldBe(1, forbidden);
        forbidden.ShouldContain("403 Forbidden: This API key may not do this: Key 'grafana' has roles [read] and may read only [checkout]");

        var (missingExit, missing) = await RunAsync(200, null, "report", "checkout", "--month", checkout.Month, "--url", url);
        missingExit.ShouldBe(1, missing);
        missing.ShouldContain("401 Unauthorized: An API key is required: Send the key in the X-Api-Key header");
        missing.ShouldContain("(give a key with --api-key or MAESTROSLA_API_KEY)");
    }

    private static async Task<(int Exit, string Output)> RunAsync(int width, string? apiKey, params string[] args)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        var exit = await MaestroCli.RunAsync(args, console, environment: name => name == MaestroCli.ApiKeyVariable ? apiKey : null);
        return (exit, writer.ToString());
    }
}
