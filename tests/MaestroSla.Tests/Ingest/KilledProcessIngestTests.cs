using System.Diagnostics;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed class KilledProcessIngestTests(ServicesFixture services)
{
    [Fact]
    public async Task an_ingest_process_killed_with_sigkill_mid_stream_and_replaced_stores_every_request_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 32);
        var traffic = TestTraffic.Requests(150_000, DateTimeOffset.UtcNow, seed: 17);
        harness.Produce(traffic.Messages);

        File.Exists(Repository.ApiAssembly).ShouldBeTrue($"the service must be built first: {Repository.ApiAssembly}");
        using var process = StartIngestProcess(harness);
        try
        {
            var storedBeforeKill = await harness.WaitForStoredRequestsAsync(traffic.TotalRequests / 5, TimeSpan.FromSeconds(120));
            storedBeforeKill.ShouldBeGreaterThan(0, "the ingest process never stored anything");
            process.Kill(entireProcessTree: true); // SIGKILL: no flush, no goodbye to the group
            await process.WaitForExitAsync();
            var storedAtKill = await harness.StoredRequestsAsync();
            storedAtKill.ShouldBeLessThan(traffic.TotalRequests, "the kill must happen mid-stream for this test to mean anything");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await harness.StartConsumerAsync();
        (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, TimeSpan.FromSeconds(120))).ShouldBe(traffic.TotalRequests);
        await ExactlyOnceIngestTests.AssertExactlyAsync(harness, traffic);
    }

    /// <summary>
    /// The real service in a process of its own, consuming the harness's topic as a member of its group.
    /// Its output lines go to <paramref name="output"/> (and to the console when MAESTRO_TEST_LOGS is set).
    /// </summary>
    internal static Process StartIngestProcess(
        IngestHarness harness, string projectionDaemon = "Disabled", Action<string>? output = null, string? applicationName = null)
    {
        var options = harness.ConsumerOptions();
        var start = new ProcessStartInfo("dotnet", [Repository.ApiAssembly])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["ConnectionStrings__Marten"] = applicationName is null
            ? harness.ConnectionString
            : new Npgsql.NpgsqlConnectionStringBuilder(harness.ConnectionString) { ApplicationName = applicationName }.ConnectionString;
        start.Environment["Kafka__BootstrapServers"] = options.BootstrapServers;
        start.Environment["Kafka__Topic"] = options.Topic;
        start.Environment["Kafka__GroupId"] = options.GroupId;
        start.Environment["Kafka__FlushInterval"] = options.FlushInterval.ToString();
        start.Environment["Kafka__MaxBatchMessages"] = options.MaxBatchMessages.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Kafka__OpenMinuteGrace"] = options.OpenMinuteGrace.ToString();
        foreach (var (key, value) in options.Client)
        {
            start.Environment[$"Kafka__Client__{key}"] = value;
        }
        start.Environment["Projections__Daemon"] = projectionDaemon;
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        var process = Process.Start(start)!;
        // Drain the output so the child never blocks on a full pipe.
        var echo = Environment.GetEnvironmentVariable("MAESTRO_TEST_LOGS") is not null;
        void Receive(string? line)
        {
            if (line is null)
            {
                return;
            }
            output?.Invoke(line);
            if (echo)
            {
                Console.WriteLine($"[child {process.Id}] {line}");
            }
        }
        process.OutputDataReceived += (_, e) => Receive(e.Data);
        process.ErrorDataReceived += (_, e) => Receive(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
