using BenchmarkDotNet.Attributes;
using MaestroSla.Contracts.Messages;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Decoding;

/// <summary>TelemetryDecoder on valid messages of each kind, per message; validation is part of decoding.</summary>
public class DecodeBenchmarks
{
    private readonly TelemetryDecoder _decoder = MessagePool.NewDecoder();
    private byte[][] _requests = [];
    private byte[][] _customerRequests = [];
    private byte[][] _downtimes = [];
    private byte[][] _healthChecks = [];

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new Traffic(seed: 1);
        _requests = MessagePool.Expect(
            MessagePool.Of(_ => Traffic.Wire(traffic.NextRequest(Traffic.Now.AddSeconds(-60 * traffic.Random.NextDouble())))),
            reasonStart: null);
        // The same kind of requests naming one of 1,000 customers: what the optional field costs when it is there.
        var customers = new Traffic(seed: 1);
        _customerRequests = MessagePool.Expect(
            MessagePool.Of(_ => Traffic.Wire(customers.NextRequest(Traffic.Now.AddSeconds(-60 * customers.Random.NextDouble())) with
            {
                Customer = customers.NextCustomer(),
            })),
            reasonStart: null);
        _downtimes = MessagePool.Expect(
            MessagePool.Of(i => $$"""{"v":1,"type":"downtime","service":"{{Service(i)}}","start":"{{Traffic.Iso(Traffic.Now.AddMinutes(-30))}}","end":"{{Traffic.Iso(Traffic.Now.AddMinutes(-(i % 29)))}}","reason":"deploy {{i}}"}"""),
            reasonStart: null);
        _healthChecks = MessagePool.Expect(
            MessagePool.Of(i => $$"""{"v":1,"type":"health","service":"{{Service(i)}}","component":"postgres","status":"healthy","latencyMs":{{i % 17}}.5,"ts":"{{Traffic.Iso(Traffic.Now.AddSeconds(-i))}}"}"""),
            reasonStart: null);
    }

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int Request() => MessagePool.DecodeAll(_decoder, _requests);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int RequestWithCustomer() => MessagePool.DecodeAll(_decoder, _customerRequests);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int Downtime() => MessagePool.DecodeAll(_decoder, _downtimes);

    [Benchmark(OperationsPerInvoke = MessagePool.Size)]
    public int Health() => MessagePool.DecodeAll(_decoder, _healthChecks);

    private static string Service(int i) => Traffic.Services[i % Traffic.Services.Count];
}
