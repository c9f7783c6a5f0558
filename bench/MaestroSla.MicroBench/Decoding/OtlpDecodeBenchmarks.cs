using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.Ingest.Otlp;
using MaestroSla.Local.Traffic;
using MaestroSla.MicroBench.Inputs;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace MaestroSla.MicroBench.Decoding;

/// <summary>
/// What the consumer of the OTLP topic does with each message, per span (Op/s is spans per second on one core): the
/// SERVER spans' mapping to requests read in place from the protobuf bytes (<see cref="OtlpSpanDecoder"/>, as at
/// /v1/traces), and that with the requests folded into an <see cref="IngestBatch"/>; for comparison, only parsing the
/// same bytes into Google.Protobuf's objects. Exports as the Collector writes them with otlp_proto: 200 spans each,
/// 4 in 5 SERVER spans with the ASP.NET Core instrumentation's attributes, 1,000 series (10 services × 100 routes),
/// ending within 30 s.
/// </summary>
[OperationsPerSecond]
public class OtlpDecodeBenchmarks
{
    private const int Exports = 50;
    private const int SpansPerExport = 200;
    private const int Spans = Exports * SpansPerExport;

    private readonly OtlpSpanDecoder _decoder = new(new ContractLimits(), new PinnedClock(Traffic.Now));
    private readonly List<RequestMetric> _requests = [];
    private readonly IngestBatch _batch = new();
    private byte[][] _payloads = [];

    [GlobalSetup]
    public void Setup()
    {
        var exports = new OtlpExports(series: 1_000, SpansPerExport, errorRate: 0.02, seed: 5);
        _payloads = new byte[Exports][];
        var serverSpans = 0L;
        for (var i = 0; i < Exports; i++)
        {
            _payloads[i] = exports.Next(Traffic.Now.AddSeconds(-1), TimeSpan.FromSeconds(30), out var server, out _).ToByteArray();
            serverSpans += server;
        }
        // The inputs must be what they claim: every SERVER span taken, nothing refused.
        var accepted = 0L;
        foreach (var payload in _payloads)
        {
            var counts = _decoder.Decode(payload, _requests);
            accepted += counts.Accepted;
            if (counts.Rejected > 0)
            {
                throw new InvalidOperationException($"benchmark input refused: {counts.FirstRejection}");
            }
        }
        if (accepted != serverSpans)
        {
            throw new InvalidOperationException($"{accepted} SERVER spans taken of {serverSpans}");
        }
    }

    /// <summary>Google.Protobuf's parse into objects alone, which the decoder does without.</summary>
    [Benchmark(OperationsPerInvoke = Spans)]
    public int ParseObjects()
    {
        var spans = 0;
        foreach (var payload in _payloads)
        {
            spans += ExportTraceServiceRequest.Parser.ParseFrom(payload).ResourceSpans[0].ScopeSpans[0].Spans.Count;
        }
        return spans;
    }

    [Benchmark(OperationsPerInvoke = Spans)]
    public long Decode()
    {
        var accepted = 0L;
        foreach (var payload in _payloads)
        {
            accepted += _decoder.Decode(payload, _requests).Accepted;
        }
        return accepted;
    }

    /// <summary>Decode and aggregate: the consumer's work per span before the batch is written.</summary>
    [Benchmark(OperationsPerInvoke = Spans)]
    public long DecodeAndAggregate()
    {
        _batch.Clear();
        foreach (var payload in _payloads)
        {
            _decoder.Decode(payload, _requests);
            foreach (var request in _requests)
            {
                _batch.Add(DecodedMessage.FromRequest(request));
            }
        }
        return _batch.RequestCount;
    }
}
