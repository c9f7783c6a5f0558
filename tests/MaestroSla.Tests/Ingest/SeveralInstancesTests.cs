using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

[Collection(SharedServices.Name)]
public sealed partial class SeveralInstancesTests(ServicesFixture services)
{
    [Fact]
    public async Task instances_in_one_group_share_the_partitions_a_killed_ones_are_taken_over_and_projections_run_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 16);
        var traffic = TestTraffic.Requests(120_000, DateTimeOffset.UtcNow, seed: 43);
        var halves = traffic.Messages.Chunk(60_000).ToArray();

        var assignments = new ConcurrentDictionary<int, string>();
        using var first = StartWithAssignmentLog(harness, assignments);
        using var second = StartWithAssignmentLog(harness, assignments);
        try
        {
            harness.Produce(halves[0]);
            (await harness.WaitForStoredRequestsAsync(60_000, TimeSpan.FromSeconds(120))).ShouldBe(60_000);
            await Eventually.HoldsAsync(() => assignments.ContainsKey(first.Id) && assignments.ContainsKey(second.Id), "both instances own partitions", TimeSpan.FromSeconds(90));
            Partitions(assignments[first.Id]).Intersect(Partitions(assignments[second.Id])).ShouldBeEmpty();

            // One instance dies without a word; the other takes all partitions over from the stored offsets.
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync();
            harness.Produce(halves[1]);
            (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, TimeSpan.FromSeconds(120))).ShouldBe(traffic.TotalRequests);
            await Eventually.HoldsAsync(() => Partitions(assignments[second.Id]).Count == harness.Partitions, "the survivor owns every partition", TimeSpan.FromSeconds(90));
            await ExactlyOnceIngestTests.AssertExactlyAsync(harness, traffic);

            // Both ran the async daemon (HotCold): the rollups count every request once, not once per node.
            await harness.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(90));
            await using var session = harness.Store.QuerySession();
            var now = DateTimeOffset.UtcNow;
            foreach (var (service, requests) in traffic.RequestsByService)
            {
                var report = await SlaReportBuilder.BuildAsync(session, new SlaOptions(), service, now.AddDays(-1), now.AddMinutes(1), "UTC", null, CancellationToken.None);
                report.Requests.Total.ShouldBe(requests, service);
            }
        }
        finally
        {
            foreach (var process in new[] { first, second })
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    private static Process StartWithAssignmentLog(IngestHarness harness, ConcurrentDictionary<int, string> assignments)
    {
        Process? process = null;
        process = KilledProcessIngestTests.StartIngestProcess(harness, projectionDaemon: "HotCold", output: line => Remember(assignments, process?.Id ?? 0, line));
        return process;
    }

    private static void Remember(ConcurrentDictionary<int, string> assignments, int processId, string? line)
    {
        // The consumer logs "Assigned 0@…,3@…" on the line after its category line.
        if (line is not null && processId != 0 && AssignedLine().IsMatch(line))
        {
            assignments[processId] = line;
        }
    }

    private static HashSet<int> Partitions(string assignedLine) =>
        PartitionNumber().Matches(assignedLine).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();

    [GeneratedRegex(@"^\s*Assigned\s")]
    private static partial Regex AssignedLine();

    [GeneratedRegex(@"(\d+)@")]
    private static partial Regex PartitionNumber();
}
