using System.Globalization;

namespace MaestroSla.Tests.Operations;

/// <summary>Reads values out of a Prometheus text scrape.</summary>
public static class PrometheusText
{
    /// <summary>The sum of every series of <paramref name="metric"/> whose labels contain all of <paramref name="labels"/> (0 when none).</summary>
    public static double Sum(string scrape, string metric, params string[] labels) => Series(scrape, metric, labels).Sum();

    public static IEnumerable<double> Series(string scrape, string metric, params string[] labels)
    {
        foreach (var line in scrape.Split('\n'))
        {
            if (!line.StartsWith(metric + "{", StringComparison.Ordinal) && !line.StartsWith(metric + " ", StringComparison.Ordinal))
            {
                continue;
            }
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var labelText = brace < 0 ? "" : line[brace..(line.LastIndexOf('}') + 1)];
            if (!labels.All(l => labelText.Contains(l, StringComparison.Ordinal)))
            {
                continue;
            }
            // name{labels} value [timestamp], or name value [timestamp]
            var rest = brace < 0 ? line[metric.Length..] : line[(line.LastIndexOf('}') + 1)..];
            yield return double.Parse(rest.Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
    }
}
