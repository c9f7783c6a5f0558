using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using MaestroSla.Tests.Infrastructure;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Ingest;

/// <summary>
/// Three ingest processes in one group: one SIGKILLed, one frozen (SIGSTOP) inside an open transaction. The healthy
/// one keeps storing through the freeze (its streams and rows are its own), the frozen one's locks are released by
/// PostgreSQL's idle-in-transaction timeout, its partitions move on after the consumer session timeout, and when it
/// wakes its late write is fenced. Every request counts once.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class HungInstanceTests(ServicesFixture services)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task with_one_instance_killed_and_one_frozen_inside_a_transaction_the_healthy_one_keeps_storing_and_every_request_counts_once()
    {
        await using var harness = await IngestHarness.CreateAsync(services, partitions: 12);
        var traffic = TestTraffic.Requests(240_000, DateTimeOffset.UtcNow, services: 8, seed: 53);
        var parts = traffic.Messages.Chunk(40_000).ToArray();
        var output = new ConcurrentQueue<string>();

        using var killed = KilledProcessIngestTests.StartIngestProcess(harness, output: output.Enqueue, applicationName: "ingest-killed");
        using var frozen = KilledProcessIngestTests.StartIngestProcess(harness, output: output.Enqueue, applicationName: "ingest-frozen");
        using var healthy = KilledProcessIngestTests.StartIngestProcess(harness, output: output.Enqueue, applicationName: "ingest-healthy");
        var processes = new[] { killed, frozen, healthy };
        try
        {
            harness.Produce(parts[0]);
            (await harness.WaitForStoredRequestsAsync(40_000, Patience)).ShouldBe(40_000);

            killed.Kill(entireProcessTree: true);
            await killed.WaitForExitAsync();

            // Keep traffic coming while the frozen instance holds its transaction open.
            var producer = Task.Run(() =>
            {
                foreach (var part in parts.Skip(1))
                {
                    harness.Produce(part);
                    Thread.Sleep(1_000);
                }
            });

            await FreezeInsideTransactionAsync(harness, frozen, "ingest-frozen");
            var frozenAt = Stopwatch.StartNew();
            var storedAtFreeze = await harness.StoredRequestsAsync();
            await Eventually.HoldsAsync(async () => await harness.StoredRequestsAsync() > storedAtFreeze,
                "the healthy instance stores within 10 s of the freeze", TimeSpan.FromSeconds(10));
            var grewAfter = frozenAt.Elapsed;

            await producer;
            // The frozen instance sleeps through its session timeout and its transaction's idle timeout; the healthy
            // one takes every partition over and stores everything.
            (await harness.WaitForStoredRequestsAsync(traffic.TotalRequests, Patience)).ShouldBe(traffic.TotalRequests);
            Signal(frozen.Id, SIGCONT);
            await Task.Delay(TimeSpan.FromSeconds(8)); // it wakes, finds its transaction gone or its write fenced, rejoins
            await ExactlyOnceIngestTests.AssertExactlyAsync(harness, traffic);

            grewAfter.ShouldBeLessThan(TimeSpan.FromSeconds(10));
            output.ShouldNotContain(line => line.Contains("pk_mt_events_stream_and_version", StringComparison.Ordinal)
                || line.Contains("EventStreamUnexpectedMaxEventId", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    Signal(process.Id, SIGCONT);
                    process.Kill(entireProcessTree: true);
                }
            }
        }
    }

    /// <summary>SIGSTOPs the process at a moment its ingest connection is inside a transaction (retrying until it is).</summary>
    private static async Task FreezeInsideTransactionAsync(IngestHarness harness, Process process, string applicationName)
    {
        await using var connection = new NpgsqlConnection(harness.ConnectionString);
        await connection.OpenAsync();
        for (var attempt = 0; attempt < 2_000; attempt++)
        {
            Signal(process.Id, SIGSTOP);
            await using var command = new NpgsqlCommand(
                "select count(*) from pg_stat_activity where application_name = $1 and xact_start is not null and state <> 'idle'", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = applicationName });
            if ((long)(await command.ExecuteScalarAsync())! > 0)
            {
                return;
            }
            Signal(process.Id, SIGCONT);
            await Task.Delay(Random.Shared.Next(1, 15));
        }
        throw new InvalidOperationException("The process was never caught inside an ingest transaction");
    }

    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;

    private static void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
