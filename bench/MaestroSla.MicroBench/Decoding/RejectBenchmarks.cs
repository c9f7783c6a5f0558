using BenchmarkDotNet.Attributes;
using MaestroSla.Contracts.Messages;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Decoding;

/// <summary>
/// The rejection path: realistic request messages with one fault each, per message, against the same messages
/// intact. A producer gone wrong sends nothing but these, so they must not cost much more than good ones.
/// </summary>
public class RejectBenchmarks
{
    private readonly TelemetryDecoder _decoder = MessagePool.NewDecoder();
    private byte[][] _valid = [];
    private byte[][] _missingField = [];
    private byte[][] _negativeLatency = [];
    private byte[][] _staleTimestamp = [];
    private byte[][] _malformedJson = [];

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 2);
        var requests = new RequestMetric[MessagePool.Size];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = traffic.NextRequest(Traffic.Now.AddSeconds(-60 * traffic.Random.NextDouble()));
        }

        _valid = MessagePool.Expect(MessagePool.Of(i => Traffic.Wire(requests[i])), reasonStart: null);
        // A misspelt field is how required fields go missing in practice; the decoder skips the unknown one.
        _missingField = MessagePool.Expect(
            MessagePool.Of(i => Traffic.Wire(requests[i]).Replace("\"endpoint\":", "\"endpointName\":", StringComparison.Ordinal)),
            "missing field 'endpoint'");
        _negativeLatency = MessagePool.Expect(
            MessagePool.Of(i => Traffic.Wire(requests[i] with { LatencyMicros = -requests[i].LatencyMicros - 1 })),
            "field 'latencyMs' must not be negative");
        _staleTimestamp = MessagePool.Expect(
            MessagePool.Of(i => Traffic.Wire(requests[i] with { Timestamp = requests[i].Timestamp.AddDays(-90) })),
            "field 'ts' is older than");
        // Cut off mid-message, as a truncated produce or a wrong serializer leaves it: Utf8JsonReader throws.
        _malformedJson = MessagePool.Expect(
            MessagePool.Of(i => Traffic.Wire(requests[i])[..^12]),
            "malformed JSON");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = MessagePool.Size)]
    public int Valid() => MessagePool.DecodeAll(_decoder, _valid);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int MissingField() => MessagePool.DecodeAll(_decoder, _missingField);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int NegativeLatency() => MessagePool.DecodeAll(_decoder, _negativeLatency);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int StaleTimestamp() => MessagePool.DecodeAll(_decoder, _staleTimestamp);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int MalformedJson() => MessagePool.DecodeAll(_decoder, _malformedJson);
}
