using BenchmarkDotNet.Attributes;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Batching;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Recording;

/// <summary>
/// The ingest aggregation, per request: folding decoded requests into a batch, and turning the batch into events
/// (one HDR histogram encoded per endpoint-minute); and folding requests that each name one of 1,000 customers, which
/// are aggregated once more per customer-minute.
/// </summary>
public class IngestBatchBenchmarks
{
    // The consumer flushes every 500 ms: at ~100k messages/s that is ~50,000 requests over the 100 endpoints of one
    // minute, so ~100 windows of ~500 latencies each.
    private const int Requests = 50_000;
    private static readonly TimeSpan Spread = TimeSpan.FromSeconds(30);

    private readonly IngestBatch _filled = new();
    private readonly IngestBatch _reused = new();
    private DecodedMessage[] _decoded = [];
    private DecodedMessage[] _withCustomers = [];

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 4);
        var start = Traffic.Now - Spread;
        _decoded = new DecodedMessage[Requests];
        _withCustomers = new DecodedMessage[Requests];
        for (var i = 0; i < Requests; i++)
        {
            _decoded[i] = DecodedMessage.FromRequest(traffic.NextRequest(start + (Spread * i / Requests)));
            _filled.Add(_decoded[i]);
            _withCustomers[i] = DecodedMessage.FromRequest(_decoded[i].Request with { Customer = traffic.NextCustomer() });
        }
    }

    /// <summary>Includes the <see cref="IngestBatch.Clear"/> before each batch, which recycles the latency lists.</summary>
    [Benchmark(OperationsPerInvoke = Requests)]
    public long Add() => Refill(_decoded);

    [Benchmark(OperationsPerInvoke = Requests)]
    public long AddWithCustomers() => Refill(_withCustomers);

    [Benchmark(OperationsPerInvoke = Requests)]
    public int ToEventsByService() => _filled.ToEventsByService().Count;

    private long Refill(DecodedMessage[] requests)
    {
        _reused.Clear();
        for (var i = 0; i < requests.Length; i++)
        {
            _reused.Add(in requests[i]);
        }
        return _reused.RequestCount;
    }
}
