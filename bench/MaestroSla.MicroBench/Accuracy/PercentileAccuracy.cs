using System.Globalization;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Accuracy;

/// <summary>
/// How far the percentiles MaestroSla reports are from the exact ones, for latency distributions of several shapes,
/// going through the same steps as production: per-minute histograms encoded by the ingest batch, merged into a day
/// rollup with AddEncoded, stored encoded, read back for the report.
/// </summary>
internal static class PercentileAccuracy
{
    private const int Values = 1_000_000;
    private const int MinutesPerDay = 1_440;
    private static readonly DateTimeOffset Day = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
    private static readonly double[] Percentiles = [50, 90, 95, 99, 99.9];

    private static readonly Distribution[] Distributions =
    [
        new("lognormal (traffic mix)", traffic => traffic.NextLatencyMicros()),
        new("bimodal 95% ~12 ms, 5% ~900 ms", traffic => Traffic.ToMicros(
            traffic.Random.NextDouble() < 0.95 ? traffic.LogNormalMs(12, 0.25) : traffic.LogNormalMs(900, 0.3))),
        new("uniform 1-1000 ms", traffic => Traffic.ToMicros(1 + (traffic.Random.NextDouble() * 999))),
        new("heavy tail: Pareto a=1.1 from 2 ms", traffic => Traffic.ToMicros(
            Math.Min(Traffic.MaxLatencyMs, 2 / Math.Pow(1 - traffic.Random.NextDouble(), 1 / 1.1)))),
    ];

    public static void Print(TextWriter output)
    {
        output.WriteLine(Invariant($"Percentile accuracy: {Values:N0} latencies per distribution, one endpoint over one day, recorded per"));
        output.WriteLine("minute by IngestBatch, each minute Encode()d, merged with AddEncoded into a day rollup, read with PercentileMs.");
        output.WriteLine("Exact: the sorted values at HdrHistogram's rank, max(1, round(p/100 * N)); max: the largest value.");
        output.WriteLine();
        output.WriteLine(Invariant($"{"distribution",-36}{"percentile",10}{"exact ms",14}{"MaestroSla ms",16}{"rel. error %",14}"));

        var worst = (Error: 0.0, Where: "");
        for (var d = 0; d < Distributions.Length; d++)
        {
            var distribution = Distributions[d];
            var traffic = new Traffic(seed: 100 + d);
            var micros = new long[Values];
            for (var i = 0; i < Values; i++)
            {
                micros[i] = distribution.SampleMicros(traffic);
            }

            var reported = ThroughRollups(micros);
            Array.Sort(micros);
            foreach (var percentile in Percentiles)
            {
                var rank = Math.Max(1, (long)((percentile / 100 * Values) + 0.5));
                Row(output, distribution.Name, Invariant($"P{percentile}"), micros[rank - 1] / 1000.0, reported.PercentileMs(percentile)!.Value, ref worst);
            }
            Row(output, distribution.Name, "max", micros[^1] / 1000.0, reported.MaxMs!.Value, ref worst);
        }

        output.WriteLine();
        output.WriteLine(Invariant($"Worst relative error: {worst.Error:0.0000} % ({worst.Where}); 3 significant digits promise at most 0.1 %."));
        output.WriteLine();
    }

    private static LatencyHistogram ThroughRollups(long[] micros)
    {
        var batch = new IngestBatch();
        for (var i = 0; i < micros.Length; i++)
        {
            var at = Day.AddMinutes(i * (long)MinutesPerDay / micros.Length);
            batch.Add(DecodedMessage.FromRequest(new RequestMetric("accuracy", "GET /accuracy", micros[i], 200, IsError: false, at)));
        }

        var dayRollup = new LatencyHistogram();
        foreach (var events in batch.ToEventsByService().Values)
        {
            foreach (var recorded in events.OfType<RequestsRecorded>())
            {
                foreach (var minute in recorded.Minutes)
                {
                    dayRollup.AddEncoded(minute.Latency);
                }
            }
        }

        var report = LatencyHistogram.Decode(dayRollup.Encode());
        if (report.TotalCount != micros.Length)
        {
            throw new InvalidOperationException($"The rollup holds {report.TotalCount} values, not {micros.Length}");
        }
        return report;
    }

    private static void Row(TextWriter output, string distribution, string percentile, double exactMs, double reportedMs, ref (double Error, string Where) worst)
    {
        var error = 100 * (reportedMs - exactMs) / exactMs;
        if (Math.Abs(error) > Math.Abs(worst.Error))
        {
            worst = (error, $"{distribution}, {percentile}");
        }
        output.WriteLine(Invariant($"{distribution,-36}{percentile,10}{exactMs,14:0.000}{reportedMs,16:0.000}{error,14:+0.0000;-0.0000;0.0000}"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed record Distribution(string Name, Func<Traffic, long> SampleMicros);
}
