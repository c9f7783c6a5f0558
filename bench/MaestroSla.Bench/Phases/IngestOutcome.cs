using System.Diagnostics;
using System.Globalization;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;

namespace MaestroSla.Bench.Phases;

/// <summary>One consumer's run over N messages, with what the database holds afterwards.</summary>
internal sealed record IngestOutcome(
    string Name,
    long Messages,
    long RequestsStored,
    long ErrorsStored,
    long ErrorsProduced,
    long EventsWritten,
    long EventTableBytes,
    long Flushes,
    bool OffsetsComplete,
    TimeSpan GroupJoin,
    ProduceReport Produced,
    PhaseCost Cost,
    TimeSpan FirstTenth,
    IReadOnlyList<string> Problems)
{
    public double RequestsPerSecond => Messages / Cost.Wall.TotalSeconds;

    /// <summary>After the first 10 % were stored: without start-up (JIT tiering, first fetches, pool warm-up).</summary>
    public double SteadyRequestsPerSecond => 0.9 * Messages / (Cost.Wall - FirstTenth).TotalSeconds;

    public bool Verified => Problems.Count == 0;
}

/// <summary>The waiting part every phase shares: until the consumer has stored everything, with progress lines.</summary>
internal static class PhaseProgress
{
    /// <summary>
    /// Waits until <paramref name="stored"/> reaches <paramref name="target"/>; returns a problem when it stalls
    /// (nothing stored for 20 s after the producer finished) or the consumer died.
    /// </summary>
    public static async Task<(string? Problem, TimeSpan FirstTenth)> WaitAsync(
        string name, long target, Func<long> stored, PartitionProgress partitions, PhaseMeter meter, Task producing, Task consuming, TimeSpan timeout)
    {
        var lastPrint = TimeSpan.Zero;
        var lastStored = 0L;
        var lastChange = Stopwatch.StartNew();
        var printedStored = 0L;
        var printedCpu = (Bench: 0.0, LoadGenerator: 0.0, Postgres: 0.0, Machine: 0.0);
        TimeSpan? firstTenth = null;
        while (true)
        {
            var now = stored();
            if (firstTenth is null && now * 10 >= target)
            {
                firstTenth = meter.Elapsed;
            }
            if (now >= target)
            {
                return (null, firstTenth ?? TimeSpan.Zero);
            }
            string? problem = null;
            if (now != lastStored)
            {
                lastStored = now;
                lastChange.Restart();
            }
            if (consuming.IsCompleted)
            {
                problem = $"{name}: consumer stopped after storing {now:N0} of {target:N0}: {consuming.Exception?.GetBaseException().Message ?? "no error"}";
            }
            if (producing.IsFaulted)
            {
                problem = $"{name}: producing failed: {producing.Exception!.GetBaseException().Message}";
            }
            if (producing.IsCompleted && lastChange.Elapsed > TimeSpan.FromSeconds(20))
            {
                problem = $"{name}: stalled at {now:N0} of {target:N0} stored (nothing stored for 20 s after the producer finished; did the broker drop data?)";
            }
            if (meter.Elapsed > timeout)
            {
                problem = $"{name}: timed out after {timeout.TotalMinutes:0} min with {now:N0} of {target:N0} stored";
            }

            if (problem is not null)
            {
                return (problem, firstTenth ?? TimeSpan.Zero);
            }

            var elapsed = meter.Elapsed;
            if (elapsed - lastPrint >= TimeSpan.FromSeconds(2))
            {
                // The CPU split of the last interval, from /proc: who is busy while the rate is what it is.
                var cpu = meter.Sample();
                var seconds = (elapsed - lastPrint).TotalSeconds;
                var rate = (now - printedStored) / seconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {name} t={elapsed.TotalSeconds,5:0}s stored {now,12:N0} ({100.0 * now / target,5:0.0}%) {rate,9:N0}/s  partitions stored {partitions.Slowest:N0}..{partitions.Fastest:N0}  cores: consumer {(cpu.Bench - printedCpu.Bench) / seconds:0.00} load-gen {(cpu.LoadGenerator - printedCpu.LoadGenerator) / seconds:0.00} postgres {(cpu.Postgres - printedCpu.Postgres) / seconds:0.00} other processes {Math.Max(0, (cpu.Machine - printedCpu.Machine) - (cpu.Bench - printedCpu.Bench) - (cpu.LoadGenerator - printedCpu.LoadGenerator) - (cpu.Postgres - printedCpu.Postgres)) / seconds:0.00}"));
                lastPrint = elapsed;
                printedStored = now;
                printedCpu = cpu;
            }
            await Task.Delay(10);
        }
    }
}
