using System.Globalization;
using System.Text;
using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;

namespace MaestroSla.Bench.Traffic;

/// <summary>
/// Live request metrics over S series (services × endpoints): message i is of series i mod S, stamped with the time
/// it is made, and with C customers per service, of customer (i / S) mod C. One pre-rendered message per series whose
/// latency, status, customer and timestamp are patched in place, so that a paced producer sharing two cores with the
/// service under test spends next to nothing per message.
/// </summary>
/// <remarks>Not thread-safe: <see cref="Message"/> returns the same buffers over and over.</remarks>
internal sealed class LiveTraffic
{
    private const int TimestampLength = TelemetryWriter.MillisecondTimestampLength; // yyyy-MM-ddTHH:mm:ss.fffZ
    private const int LatencyWidth = 9;     // right-aligned, padded with spaces (JSON allows them before a value)
    private const double LatencyPlaceholder = 99999.999; // LatencyWidth characters as JSON
    private const int LatencyPool = 4096;

    private readonly byte[][] _templates;
    private readonly byte[][] _keys;
    private readonly int[] _latencyAt;
    private readonly int[] _statusAt;
    private readonly int[] _timestampAt;
    private readonly int[] _customerAt;
    private readonly byte[][] _customers;
    private readonly byte[][] _latencies = new byte[LatencyPool][];
    private readonly bool[] _errorAt;
    private readonly byte[] _timestamp = new byte[TimestampLength];
    private long _timestampMillis = long.MinValue;

    /// <param name="customers">Customers per service (0: the requests name none).</param>
    public LiveTraffic(int series, double errorRate, int seed, int customers = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(customers);
        var (services, endpoints) = Split(series);
        Services = services;
        EndpointsPerService = endpoints;
        Series = services * endpoints;
        CustomersPerService = customers;
        // Every customer name as wide as the widest, so that one is patched over another in place.
        var digits = customers.ToString(CultureInfo.InvariantCulture).Length;
        _customers = new byte[customers][];
        for (var c = 0; c < customers; c++)
        {
            _customers[c] = Encoding.ASCII.GetBytes("cust-" + c.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0'));
        }
        _customerAt = new int[Series];
        _templates = new byte[Series][];
        _keys = new byte[Series][];
        _latencyAt = new int[Series];
        _statusAt = new int[Series];
        _timestampAt = new int[Series];
        for (var s = 0; s < services; s++)
        {
            var service = string.Create(CultureInfo.InvariantCulture, $"svc-{s:00000}");
            var key = Encoding.UTF8.GetBytes(service);
            for (var e = 0; e < endpoints; e++)
            {
                var i = (s * endpoints) + e;
                // Written with a placeholder latency as wide as the field: a shorter one is patched in right-aligned,
                // after spaces (JSON allows them before a value).
                var template = TelemetryWriter.Request(
                    service, string.Create(CultureInfo.InvariantCulture, $"GET /{service}/op-{e:000}"), LatencyPlaceholder, 200, DateTimeOffset.UnixEpoch,
                    customer: customers > 0 ? Encoding.ASCII.GetString(_customers[0]) : null);
                _templates[i] = template;
                _latencyAt[i] = template.AsSpan().IndexOf("99999.999"u8);
                _statusAt[i] = template.AsSpan().IndexOf("\"status\":200"u8) + "\"status\":"u8.Length;
                _timestampAt[i] = template.Length - TimestampLength - 2;
                _customerAt[i] = customers > 0 ? template.AsSpan().IndexOf("\"customer\":\""u8) + "\"customer\":\""u8.Length : -1;
                _keys[i] = key;
            }
        }
        // Lognormal around 40 ms, as the other traffic of the benchmark; errors at fixed positions of a 1,000-message
        // cycle, so that the count produced is known without counting.
        var drawn = new TrafficGenerator(new TrafficShape([TrafficService.Of("live", ["GET /live"], medianMs: 40, errorRate)], seed)
        {
            LatencySigma = 0.6,
            MaxLatencyMs = 60_000,
        }).Requests(LatencyPool, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1)).ToArray();
        for (var i = 0; i < LatencyPool; i++)
        {
            var ms = drawn[i].LatencyMicros / 1000.0;
            _latencies[i] = Encoding.ASCII.GetBytes(ms.ToString("0.###", CultureInfo.InvariantCulture).PadLeft(LatencyWidth));
        }
        _errorAt = new bool[1000];
        for (var i = 0; i < _errorAt.Length; i++)
        {
            _errorAt[i] = drawn[i].IsError;
        }
        AverageBytes = _templates.Average(t => (double)t.Length);
    }

    public int Services { get; }

    public int EndpointsPerService { get; }

    public int Series { get; }

    public int CustomersPerService { get; }

    public double AverageBytes { get; }

    /// <summary>S series as S/100 services × 100 endpoints; up to 100 series, S services of one endpoint.</summary>
    public static (int Services, int Endpoints) Split(int series) =>
        // Messages are keyed by service: a single service would put the whole rate into one partition, whose log the
        // mock broker keeps only briefly (at 200,000/s it deleted offsets before they were read). Up to 100 series,
        // one endpoint per service spreads them.
        series <= 100 ? (series, 1) : ((series + 99) / 100, 100);

    /// <summary>The Kafka key of message <paramref name="index"/>'s series: its service, so a series stays in one partition.</summary>
    public byte[] Key(long index) => _keys[(int)(index % Series)];

    /// <summary>Message <paramref name="index"/> stamped <paramref name="unixMillis"/>; the array is shared (valid until the next call).</summary>
    public byte[] Message(long index, long unixMillis, out bool isError)
    {
        var s = (int)(index % Series);
        var template = _templates[s];
        _latencies[(int)((ulong)(index * 2654435761L) % LatencyPool)].CopyTo(template.AsSpan(_latencyAt[s]));
        isError = _errorAt[(int)(index % _errorAt.Length)];
        var status = template.AsSpan(_statusAt[s], 3);
        if (isError)
        {
            "503"u8.CopyTo(status);
        }
        else
        {
            "200"u8.CopyTo(status);
        }
        if (unixMillis != _timestampMillis)
        {
            _timestampMillis = unixMillis;
            Encoding.ASCII.GetBytes(DateTimeOffset.FromUnixTimeMilliseconds(unixMillis).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture), _timestamp);
        }
        _timestamp.CopyTo(template.AsSpan(_timestampAt[s]));
        if (CustomersPerService > 0)
        {
            _customers[(int)(index / Series % CustomersPerService)].CopyTo(template.AsSpan(_customerAt[s]));
        }
        return template;
    }
}
