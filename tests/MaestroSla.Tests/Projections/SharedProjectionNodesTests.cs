using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Npgsql;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Projections;

/// <summary>
/// Two service processes with Projections:Daemon=HotCold share the latency rollup shards through Wolverine's
/// managed projection distribution; one is SIGKILLed and the other takes its shards over. Ingest runs in the test
/// process, so the two processes do nothing but projections.
/// </summary>
[Collection(SharedServices.Name)]
public sealed partial class SharedProjectionNodesTests(ServicesFixture services, ITestOutputHelper output)
{
    private const int Shards = 4;

    [Fact]
    public async Task two_nodes_share_the_rollup_shards_and_a_killed_nodes_shards_move_to_the_survivor_with_exact_totals()
    {
        File.Exists(Repository.ApiAssembly).ShouldBeTrue($"the service must be built first: {Repository.ApiAssembly}");
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        var now = DateTimeOffset.UtcNow;
        var before = TestTraffic.Requests(40_000, now, services: 24, seed: 71);
        var after = TestTraffic.Requests(40_000, now, services: 24, seed: 72);
        var shards = new LatencyRollupShards(Shards);
        // Otherwise a shard could sit idle and prove nothing.
        before.RequestsByService.Keys.Select(shards.IndexOf).Distinct().Count().ShouldBe(Shards, "every shard owns some of the services");

        await harness.StartConsumerAsync();
        harness.Produce(before.Messages);
        (await harness.WaitForStoredRequestsAsync(before.TotalRequests, TimeSpan.FromSeconds(120))).ShouldBe(before.TotalRequests);

        // An API replica (Projections:Daemon=Disabled) starts first and so becomes Wolverine's leader: it must hand
        // the shards to the projection nodes without ever taking one itself.
        var nodes = new ConcurrentDictionary<int, Guid>();
        using var api = StartNode(harness, nodes, "Disabled");
        Process? firstStarted = null, secondStarted = null;
        var apiNode = Guid.Empty;
        try
        {
            await Eventually.HoldsAsync(() => nodes.ContainsKey(api.Id), "the API replica joined the Wolverine cluster", TimeSpan.FromSeconds(90));
            apiNode = nodes[api.Id];
            await EventuallyAsync(async () => await LeaderAsync(harness) == apiNode, "the API replica leads the cluster", TimeSpan.FromSeconds(60));
            firstStarted = StartNode(harness, nodes, "HotCold");
            secondStarted = StartNode(harness, nodes, "HotCold");
        }
        catch
        {
            api.Kill(entireProcessTree: true);
            throw;
        }
        using var first = firstStarted;
        using var second = secondStarted;
        try
        {
            await Eventually.HoldsAsync(() => nodes.ContainsKey(first.Id) && nodes.ContainsKey(second.Id), "both projection processes joined the Wolverine cluster", TimeSpan.FromSeconds(90));
            var firstNode = nodes[first.Id];
            var secondNode = nodes[second.Id];

            // Wolverine's leader spreads the rollup shards over both nodes: each process runs some, none runs all.
            IReadOnlyDictionary<string, Guid> assigned = new Dictionary<string, Guid>();
            await EventuallyAsync(async () =>
            {
                assigned = await RollupShardAssignmentsAsync(harness);
                return assigned.Count == Shards && assigned.Values.Contains(firstNode) && assigned.Values.Contains(secondNode);
            }, "the rollup shards are split between the two processes", TimeSpan.FromSeconds(120));
            assigned.Values.ShouldAllBe(node => node == firstNode || node == secondNode);
            Report("shared", assigned, firstNode, secondNode);
            (await LeaderAsync(harness)).ShouldBe(apiNode, "the API replica still leads");

            // The harness's store has the default shard count: waiting on it would not wait for shards 2 and 3.
            await using var fourShards = new DocumentStore(MaestroSla.Api.Store.MaestroStore.Configure(new StoreOptions(), harness.ConnectionString, rollupShards: Shards));
            await fourShards.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(120));
            await AssertRollupTotalsAsync(harness, before.RequestsByService, before.ErrorsByService);

            // The first process dies without a word; the second takes its shards over from their stored progress.
            var killedShards = assigned.Where(a => a.Value == firstNode).Select(a => a.Key).ToList();
            killedShards.ShouldNotBeEmpty();
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            harness.Produce(after.Messages);
            var total = before.TotalRequests + after.TotalRequests;
            (await harness.WaitForStoredRequestsAsync(total, TimeSpan.FromSeconds(120))).ShouldBe(total);

            await EventuallyAsync(async () =>
            {
                assigned = await RollupShardAssignmentsAsync(harness);
                return assigned.Count == Shards && assigned.Values.All(node => node == secondNode);
            }, $"the survivor runs every rollup shard, {string.Join(", ", killedShards)} included", TimeSpan.FromSeconds(180));

            Report("after the kill", assigned, firstNode, secondNode);
            await fourShards.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(120));
            await AssertRollupTotalsAsync(harness, Sum(before.RequestsByService, after.RequestsByService), Sum(before.ErrorsByService, after.ErrorsByService));
        }
        finally
        {
            foreach (var process in new[] { api, first, second })
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    [Fact]
    public async Task a_solo_node_runs_every_rollup_shard_itself_with_marten_s_daemon_and_exact_totals()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 1);
        var traffic = TestTraffic.Requests(12_000, DateTimeOffset.UtcNow, services: 12, seed: 73);
        await using var app = await RunningApp.StartAsync(harness.ConnectionString, new Dictionary<string, string?>
        {
            ["Projections:Daemon"] = "Solo",
            ["Projections:RollupShards"] = "3",
            ["Caching:WarmOnStart"] = "false",
        });
        foreach (var chunk in traffic.Messages.Chunk(4_000))
        {
            var body = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("[" + string.Join(",", chunk.Select(m => System.Text.Encoding.UTF8.GetString(m))) + "]"));
            body.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            var response = await app.Client.PostAsync("/api/ingest", body);
            response.IsSuccessStatusCode.ShouldBeTrue(await response.Content.ReadAsStringAsync());
        }

        await using var store = new DocumentStore(MaestroSla.Api.Store.MaestroStore.Configure(new StoreOptions(), harness.ConnectionString, rollupShards: 3));
        await store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(90));
        await using (var session = store.QuerySession())
        {
            var days = await session.Query<LatencyRollup>().Where(r => r.Grain == RollupGrain.Day && r.Endpoint == LatencyRollup.AllEndpoints).ToListAsync();
            days.GroupBy(r => r.Service).ToDictionary(g => g.Key, g => g.Sum(r => r.Requests)).ShouldBe(traffic.RequestsByService, ignoreOrder: true);
        }
        // Marten's own daemon ran them: Wolverine was given no projection to place.
        (await RollupShardAssignmentsAsync(harness)).ShouldBeEmpty();
    }

    private void Report(string when, IReadOnlyDictionary<string, Guid> assigned, Guid firstNode, Guid secondNode)
    {
        foreach (var (agent, node) in assigned.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{when}: {agent} on {(node == firstNode ? "first" : node == secondNode ? "second" : "?")} process (node {node})");
        }
    }

    /// <summary>Day rollups and reports (day, hour and minute rollups) count every published request and error exactly once.</summary>
    private static async Task AssertRollupTotalsAsync(IngestHarness harness, Dictionary<string, long> requests, Dictionary<string, long> errors)
    {
        await using var session = harness.Store.QuerySession();
        var days = await session.Query<LatencyRollup>()
            .Where(r => r.Grain == RollupGrain.Day && r.Endpoint == LatencyRollup.AllEndpoints)
            .ToListAsync();
        var byService = days.GroupBy(r => r.Service).ToDictionary(g => g.Key, g => (Requests: g.Sum(r => r.Requests), Errors: g.Sum(r => r.Errors)));
        byService.Keys.Order().ShouldBe(requests.Keys.Order());
        var now = DateTimeOffset.UtcNow;
        foreach (var (service, count) in requests)
        {
            byService[service].Requests.ShouldBe(count, service);
            byService[service].Errors.ShouldBe(errors.GetValueOrDefault(service), service);
            var report = await SlaReportBuilder.BuildAsync(session, new SlaOptions(), service, now.AddDays(-1), now.AddMinutes(1), "UTC", null, CancellationToken.None);
            report.Requests.Total.ShouldBe(count, service);
            report.Requests.Errors.ShouldBe(errors.GetValueOrDefault(service), service);
        }
    }

    /// <summary>The node holding Wolverine's leader agent, from its node-assignment table.</summary>
    private static async Task<Guid?> LeaderAsync(IngestHarness harness)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select node_id from {harness.Store.Options.DatabaseSchemaName}.wolverine_node_assignments where id like 'wolverine://leader%'", connection);
        return await command.ExecuteScalarAsync() as Guid?;
    }

    /// <summary>Which Wolverine node runs each rollup shard, from Wolverine's own node-assignment table.</summary>
    private static async Task<IReadOnlyDictionary<string, Guid>> RollupShardAssignmentsAsync(IngestHarness harness)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"select id, node_id from {harness.Store.Options.DatabaseSchemaName}.wolverine_node_assignments where id like '%{LatencyRollupShards.BaseName}%'", connection);
        var assignments = new Dictionary<string, Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            assignments[reader.GetString(0)] = reader.GetGuid(1);
        }
        return assignments;
    }

    private static Dictionary<string, long> Sum(Dictionary<string, long> a, Dictionary<string, long> b) =>
        a.Keys.Union(b.Keys).ToDictionary(k => k, k => a.GetValueOrDefault(k) + b.GetValueOrDefault(k));

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not reached within {timeout}: {what}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>The real service in a process of its own, without a consumer: HotCold shares the projections with the other HotCold nodes.</summary>
    private static Process StartNode(IngestHarness harness, ConcurrentDictionary<int, Guid> nodes, string daemon)
    {
        var start = new ProcessStartInfo("dotnet", [Repository.ApiAssembly])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.Environment["ConnectionStrings__Marten"] = harness.ConnectionString;
        start.Environment["Kafka__ConsumerEnabled"] = "false";
        start.Environment["Caching__WarmOnStart"] = "false";
        start.Environment["Projections__Daemon"] = daemon;
        start.Environment["Projections__RollupShards"] = Shards.ToString(CultureInfo.InvariantCulture);
        // A dead node is noticed within seconds rather than Wolverine's default minute.
        start.Environment["Wolverine__Durability__HealthCheckPollingTime"] = "00:00:01";
        start.Environment["Wolverine__Durability__FirstHealthCheckExecution"] = "00:00:00.500";
        start.Environment["Wolverine__Durability__CheckAssignmentPeriod"] = "00:00:01";
        start.Environment["Wolverine__Durability__StaleNodeTimeout"] = "00:00:05";
        // Wolverine names the node it started at Information.
        start.Environment["Logging__LogLevel__Wolverine"] = "Information";
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        var process = Process.Start(start)!;
        var echo = Environment.GetEnvironmentVariable("MAESTRO_TEST_LOGS") is not null;
        void Receive(string? line)
        {
            if (line is null)
            {
                return;
            }
            if (NodeStarted().Match(line) is { Success: true } match)
            {
                nodes[process.Id] = Guid.Parse(match.Groups[1].Value);
            }
            if (echo)
            {
                Console.WriteLine($"[node {process.Id}] {line}");
            }
        }
        process.OutputDataReceived += (_, e) => Receive(e.Data);
        process.ErrorDataReceived += (_, e) => Receive(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    [GeneratedRegex(@"Starting agents for Node ([0-9a-fA-F-]{36})")]
    private static partial Regex NodeStarted();
}
