using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using MaestroSla.Cli;
using MaestroSla.Contracts.Reports;
using MaestroSla.Sla.Reports;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Spectre.Console;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Cli;

/// <summary>The maestrosla command run in process against the real service: what it prints is what the API says.</summary>
[Collection(SharedServices.Name)]
public sealed partial class CliTests(ServicesFixture services, ITestOutputHelper output)
{
    private const string Zone = "Europe/Berlin";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task report_prints_the_months_figures_of_the_api_as_a_table_as_json_and_as_csv()
    {
        var data = MonthOfTelemetry.PreviousMonth("checkout", Zone, requests: 20_000, seed: 23);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        var url = app.Client.BaseAddress!.ToString();
        var apiPath = $"/api/reports/checkout?month={data.Month}&tz={Uri.EscapeDataString(Zone)}";
        var report = JsonSerializer.Deserialize<SlaReport>(await app.Client.GetStringAsync(apiPath), Json)!;

        var (exit, table) = await RunAsync("report", "checkout", "--month", data.Month, "--tz", Zone, "--url", url);

        output.WriteLine(table);
        exit.ShouldBe(0, table);
        table.ShouldContain($"SLA report checkout  {data.Month}-01 00:00:00 to ");
        foreach (var metric in report.Metrics)
        {
            var row = table.Split('\n').Single(l => l.Contains($" {metric.Metric} ", StringComparison.Ordinal));
            var numbers = Numbers(row[(row.IndexOf(metric.Metric, StringComparison.Ordinal) + metric.Metric.Length)..]);
            numbers[0].ShouldBe(metric.Target, 1e-9, row);
            numbers[1].ShouldBe(metric.Actual!.Value, (0.5 * Math.Pow(10, metric.Unit == "%" ? -4 : -1)) + 1e-9, row);
            row.ShouldContain(metric.Met == true ? " met " : " breached ");
        }
        table.ShouldContain($"requests {report.Requests.Total.ToString("N0", CultureInfo.InvariantCulture)}  errors {report.Requests.Errors.ToString("N0", CultureInfo.InvariantCulture)}");
        table.ShouldContain($"in {report.DowntimeEventCount} event(s)");
        table.ShouldContain("deployment, synthetic probe");
        table.ShouldContain(report.OverallMet == true ? "SLA: met" : "SLA: BREACHED");

        var (jsonExit, json) = await RunAsync("report", "checkout", "--month", data.Month, "--tz", Zone, "--format", "json", "--url", url);
        jsonExit.ShouldBe(0, json);
        JsonSerializer.Serialize(JsonSerializer.Deserialize<SlaReport>(json, Json), Json).ShouldBe(JsonSerializer.Serialize(report, Json));

        var (csvExit, csv) = await RunAsync("report", "checkout", "--month", data.Month, "--tz", Zone, "--format", "csv", "--url", url);
        csvExit.ShouldBe(0, csv);
        csv.ReplaceLineEndings("\n").TrimEnd().ShouldBe((await app.Client.GetStringAsync(apiPath + "&format=csv")).ReplaceLineEndings("\n").TrimEnd());

        // A range and one endpoint.
        var (rangeExit, range) = await RunAsync("report", "checkout", "--from", report.From.ToString("O", CultureInfo.InvariantCulture),
            "--to", report.From.AddDays(3).ToString("O", CultureInfo.InvariantCulture), "--endpoint", "POST /pay", "--format", "json", "--url", url);
        rangeExit.ShouldBe(0, range);
        var endpointReport = JsonSerializer.Deserialize<SlaReport>(range, Json)!;
        endpointReport.Endpoint.ShouldBe("POST /pay");
        endpointReport.Requests.Total.ShouldBeGreaterThan(0);
        endpointReport.Requests.Total.ShouldBeLessThan(report.Requests.Total / 10);

        var (statusExit, status) = await RunAsync("status", "--tz", Zone, "--url", url);
        output.WriteLine(status);
        statusExit.ShouldBe(0, status);
        status.ShouldContain("checkout");
        // The current month has none of this data: the table says which month it shows, and where the data is.
        var currentMonth = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, TimeZoneInfo.FindSystemTimeZoneById(Zone)).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        status.ShouldContain($"SLA status, {currentMonth} (Europe/Berlin, partial: the month is in progress)");
        Regex.Replace(status, @"\s+", " ").ShouldContain($"{currentMonth} has no requests yet; the latest month with data is {data.Month}: maestrosla status --month {data.Month} --tz {Zone}");
    }

    [Fact]
    public async Task targets_set_and_get_go_through_the_api_and_mistakes_get_a_clear_message_and_exit_code_1()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        var url = app.Client.BaseAddress!.ToString();

        var (setExit, set) = await RunAsync("targets", "set", "payments", "--p95", "180", "--error-rate", "0.05", "--url", url);
        setExit.ShouldBe(0, set);
        set.ShouldContain("< 180 ms");
        var (getExit, get) = await RunAsync("targets", "get", "payments", "--format", "json", "--url", url);
        getExit.ShouldBe(0, get);
        var targets = JsonDocument.Parse(get).RootElement.GetProperty("targets");
        targets.GetProperty("p95Ms").GetDouble().ShouldBe(180);
        targets.GetProperty("errorRatePercent").GetDouble().ShouldBe(0.05);
        targets.GetProperty("p99Ms").GetDouble().ShouldBe(500, "targets not given keep their value");

        var (invalidExit, invalid) = await RunAsync("targets", "set", "payments", "--uptime", "150", "--url", url);
        invalidExit.ShouldBe(1);
        invalid.ShouldContain("uptimePercent must be in (0, 100]");

        var (badMonthExit, badMonth) = await RunAsync("report", "payments", "--month", "2026-13", "--url", url);
        badMonthExit.ShouldBe(1);
        badMonth.ShouldContain("month must look like 2026-10");

        var (usageExit, usage) = await RunAsync("report", "payments", "--from", "2026-10-01T00:00:00Z", "--url", url);
        usageExit.ShouldNotBe(0);
        usage.ShouldContain("Give both --from and --to");

        var (unreachableExit, unreachable) = await RunAsync("status", "--url", "http://127.0.0.1:9/");
        unreachableExit.ShouldBe(1);
        unreachable.ShouldContain("cannot reach http://127.0.0.1:9/");

        // The address and key can come from the environment, as for a shell profile.
        var (envExit, fromEnvironment) = await RunAsync(["targets", "get", "payments"], name => name switch
        {
            MaestroCli.UrlVariable => url,
            MaestroCli.ApiKeyVariable => RunningApp.AdminKey,
            _ => null,
        });
        envExit.ShouldBe(0, fromEnvironment);
        fromEnvironment.ShouldContain("set through the API");
    }

    [Fact]
    public async Task export_openslo_writes_a_file_that_import_openslo_turns_into_the_same_targets_on_another_database()
    {
        var file = Path.Combine(Path.GetTempPath(), $"maestrosla-openslo-{Guid.NewGuid():N}.yaml");
        try
        {
            await using (var source = await IngestHarness.CreateAsync(services, partitions: 1))
            await using (var app = await RunningApp.StartAsync(source.ConnectionString))
            {
                var url = app.Client.BaseAddress!.ToString();
                (await RunAsync("targets", "set", "checkout", "--uptime", "99.95", "--availability", "99.9", "--p95", "250.5", "--p99", "700", "--error-rate", "0.2", "--url", url)).Exit.ShouldBe(0);
                (await RunAsync("targets", "set", "search", "--p99", "350", "--url", url)).Exit.ShouldBe(0);
                var (exportExit, exported) = await RunAsync("export", "openslo", "-o", file, "--url", url);
                exportExit.ShouldBe(0, exported);
            }
            var yaml = await File.ReadAllTextAsync(file);
            yaml.ShouldContain("apiVersion: openslo/v1");

            await using var target = await IngestHarness.CreateAsync(services, partitions: 1);
            await using var other = await RunningApp.StartAsync(target.ConnectionString);
            var otherUrl = other.Client.BaseAddress!.ToString();
            var (importExit, imported) = await RunAsync("import", "openslo", file, "--url", otherUrl);
            importExit.ShouldBe(0, imported);
            imported.ShouldContain("250.5");

            var (getExit, checkout) = await RunAsync("targets", "get", "checkout", "--format", "json", "--url", otherUrl);
            getExit.ShouldBe(0, checkout);
            var t = JsonDocument.Parse(checkout).RootElement.GetProperty("targets");
            (t.GetProperty("uptimePercent").GetDouble(), t.GetProperty("availabilityPercent").GetDouble(), t.GetProperty("p95Ms").GetDouble(),
                t.GetProperty("p99Ms").GetDouble(), t.GetProperty("errorRatePercent").GetDouble()).ShouldBe((99.95, 99.9, 250.5, 700.0, 0.2));
            var (_, reexported) = await RunAsync("export", "openslo", "--url", otherUrl);
            reexported.ReplaceLineEndings("\n").TrimEnd().ShouldBe(yaml.ReplaceLineEndings("\n").TrimEnd());
        }
        finally
        {
            File.Delete(file);
        }
    }

    internal static Task<(int Exit, string Output)> RunAsync(params string[] args) =>
        RunAsync(args, name => name == MaestroCli.ApiKeyVariable ? RunningApp.AdminKey : null);

    internal static async Task<(int Exit, string Output)> RunAsync(string[] args, Func<string, string?> environment)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        var exit = await MaestroCli.RunAsync(args, console, environment: environment);
        return (exit, writer.ToString());
    }

    private static List<double> Numbers(string text) =>
        NumberPattern().Matches(text).Select(m => double.Parse(m.Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"\d[\d,]*(\.\d+)?")]
    private static partial Regex NumberPattern();
}
