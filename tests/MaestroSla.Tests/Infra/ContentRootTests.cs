using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Infra;

/// <summary>
/// The built service started as `dotnet path/to/MaestroSla.Api.dll` from some other folder loads the appsettings.json
/// next to it: its content root is its own folder, not the working directory.
/// </summary>
[Collection(SharedServices.Name)]
public sealed partial class ContentRootTests(ServicesFixture services, ITestOutputHelper output)
{
    [Fact]
    public async Task the_service_started_from_another_directory_loads_the_appsettings_json_next_to_its_dll()
    {
        File.Exists(Repository.ApiAssembly).ShouldBeTrue($"the service must be built first: {Repository.ApiAssembly}");
        var elsewhere = Directory.CreateTempSubdirectory("maestrosla-cwd-");
        var start = new ProcessStartInfo("dotnet", [Repository.ApiAssembly])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = elsewhere.FullName,
        };
        start.Environment["ConnectionStrings__Marten"] = await services.CreateDatabaseAsync();
        start.Environment["Kafka__BootstrapServers"] = services.Kafka.BootstrapServers;
        start.Environment["Kafka__ConsumerEnabled"] = "false";
        start.Environment["Projections__Daemon"] = "Disabled";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        // Plain console lines, whatever the machine's defaults.
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["NO_COLOR"] = "1";

        var lines = new ConcurrentQueue<string>();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = Process.Start(start)!;
        void Receive(string? line)
        {
            if (line is null)
            {
                return;
            }
            lines.Enqueue(line);
            if (ListeningOn().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }
        process.OutputDataReceived += (_, e) => Receive(e.Data);
        process.ErrorDataReceived += (_, e) => Receive(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(90));
            using var client = new HttpClient { BaseAddress = address };
            (await client.GetAsync("/healthz")).StatusCode.ShouldBe(HttpStatusCode.OK);
            await Task.Delay(500);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            elsewhere.Delete(recursive: true);
        }

        var log = string.Join('\n', lines);
        output.WriteLine(log);
        // The host says where its content root is: the dll's folder, where appsettings.json was copied by the build.
        var contentRoot = ContentRoot().Match(log);
        contentRoot.Success.ShouldBeTrue("the host logs its content root at start");
        Path.TrimEndingDirectorySeparator(contentRoot.Groups[1].Value.Trim())
            .ShouldBe(Path.GetDirectoryName(Repository.ApiAssembly));
        // And the file's settings took effect: appsettings.json sets Microsoft.AspNetCore to Warning, so the request
        // above logged nothing at Information (without the file, ASP.NET Core logs "Request starting" for it).
        log.ShouldContain("Microsoft.Hosting.Lifetime", customMessage: "Information lines of other categories are printed");
        log.ShouldNotContain("Request starting");
        log.ShouldNotContain("Microsoft.AspNetCore.Hosting.Diagnostics");
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();

    [GeneratedRegex(@"Content root path: ([^\n]+)")]
    private static partial Regex ContentRoot();
}
