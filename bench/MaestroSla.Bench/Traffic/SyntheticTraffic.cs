using System.Globalization;
using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;

namespace MaestroSla.Bench.Traffic;

/// <summary>The load's shape; the same shape and seed always give the same messages (timestamps aside).</summary>
internal sealed record LoadShape(
    int Services, int EndpointsPerService, double ErrorRate, TimeSpan Span, TimestampOrder Order, int Seed);

/// <summary>
/// Request metrics in the version-1 wire format, made on the fly from a pool of pre-rendered messages whose
/// timestamp is patched in place: the producer shares two cores with the consumer and PostgreSQL, so making a
/// message must cost next to nothing (no allocation, no formatting beyond 24 digits).
/// </summary>
/// <remarks>Not thread-safe: <see cref="Message"/> returns the same buffers over and over.</remarks>
internal sealed class SyntheticTraffic
{
    // A prime, so that the round-robin partition (i mod partitions) and the template (i mod pool) are unrelated.
    private const int PoolSize = 65_521;
    private const int TimestampLength = TelemetryWriter.MillisecondTimestampLength; // yyyy-MM-ddTHH:mm:ss.fffZ
    private const long MaxDisorderTicks = 30 * TimeSpan.TicksPerSecond;

    private static readonly string[] ServiceNames =
    [
        "checkout", "search", "payments", "catalog", "cart", "auth", "profile", "orders", "shipping", "inventory",
        "pricing", "reviews", "recommend", "notify", "billing", "gateway", "media", "geo", "ledger", "fraud",
    ];

    private static readonly string[] EndpointShapes =
    [
        "GET /{0}", "GET /{0}/{{id}}", "POST /{0}", "PUT /{0}/{{id}}", "DELETE /{0}/{{id}}",
        "GET /{0}/{{id}}/history", "POST /{0}/search", "GET /{0}/stats",
    ];

    private readonly byte[][] _templates = new byte[PoolSize][];
    private readonly int[] _timestampAt = new int[PoolSize];
    private readonly long[] _disorderTicks = new long[PoolSize];
    private readonly bool[] _isError = new bool[PoolSize];
    private readonly long _startTicks;
    private readonly long _spanTicks;
    private readonly long _count;
    private readonly TimestampOrder _order;

    /// <param name="end">The newest timestamp (UTC); the oldest is <c>end - shape.Span</c>.</param>
    /// <param name="count">Messages the caller will ask for: ordered timestamps spread them over the span.</param>
    public SyntheticTraffic(LoadShape shape, DateTimeOffset end, long count)
    {
        ArgumentNullException.ThrowIfNull(shape);
        _order = shape.Order;
        _spanTicks = shape.Span.Ticks;
        _startTicks = end.UtcTicks - _spanTicks;
        _count = Math.Max(1, count);

        var random = new Random(shape.Seed);
        var services = new TrafficService[shape.Services];
        for (var s = 0; s < shape.Services; s++)
        {
            var service = s < ServiceNames.Length ? ServiceNames[s] : string.Create(CultureInfo.InvariantCulture, $"service-{s}");
            var endpoints = new TrafficEndpoint[shape.EndpointsPerService];
            for (var e = 0; e < shape.EndpointsPerService; e++)
            {
                var endpoint = e < EndpointShapes.Length
                    ? string.Format(CultureInfo.InvariantCulture, EndpointShapes[e], service)
                    : string.Create(CultureInfo.InvariantCulture, $"GET /{service}/op-{e}");
                endpoints[e] = new TrafficEndpoint(endpoint, 8 + (random.NextDouble() * 150));
            }
            services[s] = new TrafficService(service, endpoints, shape.ErrorRate);
        }
        var traffic = new TrafficGenerator(new TrafficShape(services, shape.Seed)
        {
            LatencySigma = 0.6,
            MaxLatencyMs = 60_000,
            ErrorStatuses = [500, 503],
        });

        // The pool's timestamps are placeholders (Message patches them), whole milliseconds so that the writer puts
        // 24 characters last: `…"ts":"<24>"}`.
        long bytes = 0;
        var t = 0;
        foreach (var request in traffic.Requests(PoolSize, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1)))
        {
            var template = TrafficGenerator.Encode(request);
            _templates[t] = template;
            _timestampAt[t] = template.Length - TimestampLength - 2;
            _isError[t] = request.IsError;
            _disorderTicks[t] = (long)(random.NextDouble() * MaxDisorderTicks);
            bytes += template.Length;
            t++;
        }
        AverageBytes = (double)bytes / PoolSize;
    }

    /// <summary>Mean size of a message's value in bytes.</summary>
    public double AverageBytes { get; }

    /// <summary>
    /// Message number <paramref name="index"/> (0-based). The returned array is shared: it stays valid only until
    /// the next call, which is all a Kafka producer needs (librdkafka copies the value during Produce).
    /// </summary>
    public byte[] Message(long index, out bool isError)
    {
        var t = (int)(index % PoolSize);
        var template = _templates[t];
        isError = _isError[t];

        long ticks = _order == TimestampOrder.Ordered
            ? _startTicks + (long)((double)index / _count * _spanTicks) - _disorderTicks[t]
            : _startTicks + (long)(SplitMix(index) % (ulong)_spanTicks);
        WriteTimestamp(template.AsSpan(_timestampAt[t], TimestampLength), Math.Max(_startTicks - MaxDisorderTicks, ticks));
        return template;
    }

    /// <summary>Writes yyyy-MM-ddTHH:mm:ss.fffZ: a handful of divisions instead of DateTime's format machinery.</summary>
    private static void WriteTimestamp(Span<byte> target, long utcTicks)
    {
        var time = new DateTime(utcTicks, DateTimeKind.Utc);
        var (year, month, day) = time;
        Digits(target, 0, year, 4);
        target[4] = (byte)'-';
        Digits(target, 5, month, 2);
        target[7] = (byte)'-';
        Digits(target, 8, day, 2);
        target[10] = (byte)'T';
        Digits(target, 11, time.Hour, 2);
        target[13] = (byte)':';
        Digits(target, 14, time.Minute, 2);
        target[16] = (byte)':';
        Digits(target, 17, time.Second, 2);
        target[19] = (byte)'.';
        Digits(target, 20, time.Millisecond, 3);
        target[23] = (byte)'Z';
    }

    private static void Digits(Span<byte> target, int at, int value, int width)
    {
        for (var i = at + width - 1; i >= at; i--)
        {
            target[i] = (byte)('0' + (value % 10));
            value /= 10;
        }
    }

    private static ulong SplitMix(long index)
    {
        var z = (ulong)index + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
