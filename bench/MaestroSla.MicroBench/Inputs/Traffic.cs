using System.Globalization;
using System.Text;
using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;

namespace MaestroSla.MicroBench.Inputs;

/// <summary>
/// The shape of bench/MaestroSla.Bench's SyntheticTraffic, reduced to what a micro-benchmark needs: 20 services ×
/// 5 endpoints, each with a lognormal latency (median 8–158 ms, σ 0.6), and 2 % 5xx answers. Seeded, so every run
/// measures the same inputs.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class Traffic
{
    /// <summary>What <see cref="PinnedClock"/> says: messages are stamped relative to it, so none ever goes stale.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The contract's default ceiling, which producers' timeouts keep latencies under.</summary>
    public static readonly double MaxLatencyMs = new ContractLimits().MaxLatency.TotalMilliseconds;

    private const double ErrorRate = 0.02;

    private static readonly string[] ServiceNames =
    [
        "checkout", "search", "payments", "catalog", "cart", "auth", "profile", "orders", "shipping", "inventory",
        "pricing", "reviews", "recommend", "notify", "billing", "gateway", "media", "geo", "ledger", "fraud",
    ];

    private static readonly string[] EndpointShapes = ["GET /{0}", "GET /{0}/{{id}}", "POST /{0}", "PUT /{0}/{{id}}", "DELETE /{0}/{{id}}"];

    private readonly (string Service, string Endpoint, double MedianMs)[] _endpoints;
    private readonly Random _random;

    public static IReadOnlyList<string> Services => ServiceNames;

    public Traffic(int seed)
    {
        _random = new Random(seed);
        _endpoints = new (string, string, double)[ServiceNames.Length * EndpointShapes.Length];
        var i = 0;
        foreach (var service in ServiceNames)
        {
            foreach (var shape in EndpointShapes)
            {
                _endpoints[i++] = (service, string.Format(CultureInfo.InvariantCulture, shape, service), 8 + (_random.NextDouble() * 150));
            }
        }
    }

    public Random Random => _random;

    public RequestMetric NextRequest(DateTimeOffset timestamp)
    {
        var (service, endpoint, medianMs) = _endpoints[_random.Next(_endpoints.Length)];
        var isError = _random.NextDouble() < ErrorRate;
        var status = isError ? (_random.Next(2) == 0 ? 500 : 503) : 200;
        return new RequestMetric(service, endpoint, ToMicros(LogNormalMs(medianMs, 0.6)), status, isError, timestamp);
    }

    public long NextLatencyMicros() => NextRequest(Now).LatencyMicros;

    /// <summary>Milliseconds, capped at <see cref="MaxLatencyMs"/>.</summary>
    public double LogNormalMs(double medianMs, double sigma) =>
        Math.Min(MaxLatencyMs, medianMs * Math.Exp(sigma * _random.Gaussian()));

    /// <summary>Rounded to the microsecond, as <see cref="TelemetryDecoder"/> does with the wire's milliseconds.</summary>
    public static long ToMicros(double ms) => (long)Math.Round(ms * 1000);

    /// <summary>The request as its producer sends it (version-1 wire format, UTF-8 JSON).</summary>
    public static string Wire(in RequestMetric request) => Encoding.UTF8.GetString(TelemetryWriter.Request(
        request.Service, request.Endpoint, Distributions.WireMilliseconds(request.LatencyMicros / 1000.0), request.StatusCode,
        // At millisecond precision, as producers commonly send it.
        request.Timestamp.AddTicks(-(request.Timestamp.UtcTicks % TimeSpan.TicksPerMillisecond)), customer: request.Customer));

    /// <summary>One of 1,000 customers ("tenant-0000" …), drawn at random.</summary>
    public string NextCustomer() => string.Create(CultureInfo.InvariantCulture, $"tenant-{_random.Next(1_000):0000}");

    public static string Iso(DateTimeOffset timestamp) =>
        timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);
}
