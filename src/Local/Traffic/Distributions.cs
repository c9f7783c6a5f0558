namespace MaestroSla.Local.Traffic;

/// <summary>The random draws behind <see cref="TrafficGenerator"/> (and the micro-benchmarks' inputs).</summary>
public static class Distributions
{
    /// <summary>A standard normal draw (Box–Muller); latencies are lognormal: median × e^(σ·Gaussian).</summary>
    public static double Gaussian(this Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>How many events happen in an interval whose mean count is <paramref name="mean"/> (Knuth's method).</summary>
    public static int Poisson(this Random random, double mean)
    {
        if (mean > 500)
        {
            // e^-mean underflows past ~745, and Knuth's method costs a draw per event: the normal approximation is
            // as good as exact this far out.
            return (int)Math.Max(0, Math.Round(mean + (Math.Sqrt(mean) * random.Gaussian())));
        }
        var limit = Math.Exp(-mean);
        var product = random.NextDouble();
        var count = 0;
        while (product > limit)
        {
            count++;
            product *= random.NextDouble();
        }
        return count;
    }

    /// <summary>Milliseconds as the wire carries them from a generator: three decimals (a microsecond).</summary>
    public static double WireMilliseconds(double ms) => Math.Round(ms, 3, MidpointRounding.AwayFromZero);
}
