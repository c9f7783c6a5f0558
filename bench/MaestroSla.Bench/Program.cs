using MaestroSla.Bench;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;
using MaestroSla.Bench.Phases;
using MaestroSla.Bench.Traffic;
using System.Globalization;
using Microsoft.Extensions.Logging;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

if (options.LoadGeneratorRole)
{
    return LoadGenerator.Run(options);
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};
var ct = cancel.Token;

var started = DateTimeOffset.UtcNow;
var loadAtStart = ProcStats.LoadAverage();
var commandLine = "dotnet run -c Release --project bench/MaestroSla.Bench" + (args.Length > 0 ? " -- " + string.Join(' ', args) : "");
Console.WriteLine($"MaestroSla ingest benchmark, {started:yyyy-MM-dd HH:mm:ss} UTC");
Console.WriteLine($"machine: {Report.Machine()}; 1-minute load average {loadAtStart:0.00}");

// Warnings only: a skipped offset range or a rolled-back batch must show; routine lines would drown the progress.
using var logs = LoggerFactory.Create(logging => logging
    .AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss ")
    .SetMinimumLevel(LogLevel.Warning));

await using var environment = await BenchEnvironment.StartAsync(options, args, ct);
var postgres = await environment.ServerSettingsAsync();
Console.WriteLine(postgres);
Console.WriteLine($"Kafka-protocol mock broker (load generator pid {environment.LoadGenerator.ProcessId}) on {environment.LoadGenerator.BootstrapServers}");

// All timestamps lie in [end - span, end], well inside the decoder's accepted window for the whole run.
var trafficEnd = started.AddMinutes(-1);
var averageBytes = new SyntheticTraffic(LoadGenerator.Shape(options), trafficEnd, options.Messages).AverageBytes;
var verified = true;
var summaries = new List<string>();

if (options.Phases.Contains("ingest"))
{
    Console.WriteLine($"[1/5] MaestroSla: {options.Messages:N0} request metrics through one TelemetryConsumer");
    var maestro = await MaestroIngestPhase.RunAsync(options, environment, trafficEnd, logs, ct);
    Console.WriteLine($"  {maestro.RequestsPerSecond:N0} requests/s over {maestro.Cost.Wall.TotalSeconds:0.0} s");

    IngestOutcome? naive = null;
    if (options.NaiveMessages > 0)
    {
        Console.WriteLine($"[2/5] naive: first {options.NaiveMessages:N0} of the same messages, one Marten event per request");
        naive = await NaiveIngestPhase.RunAsync(options, environment, trafficEnd, ct);
        Console.WriteLine($"  {naive.RequestsPerSecond:N0} requests/s over {naive.Cost.Wall.TotalSeconds:0.0} s");
    }

    IngestOutcome? drain = null;
    if (options.DrainMessages > 0)
    {
        Console.WriteLine($"[3/5] drain: one TelemetryConsumer reading a ready backlog, producer idle");
        drain = await DrainPhase.RunAsync(options, environment, trafficEnd, averageBytes, logs, ct);
        Console.WriteLine($"  {drain.RequestsPerSecond:N0} requests/s over {drain.Cost.Wall.TotalSeconds:0.0} s");
    }

    StageCosts? stages = null;
    if (options.StageMessages > 0)
    {
        Console.WriteLine($"[4/5] stage costs on {Math.Min(options.StageMessages, options.Messages):N0} messages, one thread");
        stages = await StageCostsPhase.RunAsync(options, environment, trafficEnd, ct);
    }

    MonthOutcome? month = null;
    if (options.MonthRequests > 0)
    {
        Console.WriteLine($"[5/5] a month of {options.MonthServices} services, {options.MonthRequests:N0} requests: project, report, back up, restore");
        month = await MonthPhase.RunAsync(options, environment, started, ct);
    }

    summaries.Add(Report.Render(options, commandLine, started, loadAtStart, postgres, averageBytes, maestro, naive, drain, stages, month));
    verified &= maestro.Verified && (naive?.Verified ?? true) && (drain?.Verified ?? true) && (month?.Verified ?? true);
}

// The live, instances and HTTP phases run the service itself (src/Api) as child processes; their logs stay here.
var logDirectory = "";
if (options.Phases.Overlaps(["live", "instances", "http"]))
{
    logDirectory = Directory.CreateTempSubdirectory($"maestrosla-bench-logs-{started:yyyyMMddTHHmmss}-").FullName;
    Console.WriteLine($"service logs: {logDirectory}");
}

if (options.Phases.Contains("live"))
{
    Console.WriteLine($"[live] steady load at {string.Join(", ", options.LiveSeries.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))} series");
    var outcomes = new List<LiveOutcome>();
    foreach (var nodes in options.LiveProjectionNodes)
    {
        foreach (var series in options.LiveSeries)
        {
            Console.WriteLine($"  {series:N0} series, {nodes} projection node(s):");
            var outcome = await LivePhase.RunAsync(options, environment, series, nodes, logDirectory, ct);
            outcomes.Add(outcome);
            verified &= outcome.Verified;
        }
    }
    summaries.Add(LoadReport.RenderLive(options, outcomes));
}

if (options.Phases.Contains("instances"))
{
    Console.WriteLine($"[instances] {string.Join(" and ", options.InstanceCounts)} ingest processes in one group, one SIGKILLed");
    var outcomes = new List<InstancesOutcome>();
    foreach (var count in options.InstanceCounts)
    {
        var outcome = await InstancesPhase.RunAsync(options, environment, count, logDirectory, ct);
        outcomes.Add(outcome);
        verified &= outcome.Verified;
    }
    summaries.Add(LoadReport.RenderInstances(options, outcomes));
}

if (options.Phases.Contains("http"))
{
    Console.WriteLine("[http] wrk against POST /api/ingest");
    var outcome = await HttpPhase.RunAsync(options, environment, trafficEnd, logDirectory, logs, ct);
    summaries.Add(LoadReport.RenderHttp(options, outcome));
    verified &= outcome.Verified;
}

if (options.Phases.Contains("otlp"))
{
    Console.WriteLine($"[otlp] {options.OtlpSpans:N0} spans in OTLP protobuf exports through Kafka, {options.OtlpSeries:N0} series");
    var outcome = await OtlpPhase.RunAsync(options, environment, trafficEnd, logs, ct);
    summaries.Add(OtlpPhase.Render(options, outcome));
    verified &= outcome.Verified;
}

Console.WriteLine();
if (!options.Phases.Contains("ingest"))
{
    // The classic report carries the run's header; without it, the same facts here.
    Console.WriteLine($"## Benchmark, {started:yyyy-MM-dd HH:mm} UTC");
    Console.WriteLine();
    Console.WriteLine($"- command: `{commandLine}`");
    Console.WriteLine($"- machine: {Report.Machine()}");
    Console.WriteLine($"- {postgres}");
    Console.WriteLine($"- the service (src/Api), the load generator (mock broker + producer) and PostgreSQL share the {Environment.ProcessorCount} cores with other users of this machine: 1-minute load average at the start {loadAtStart:0.00}, at the end {ProcStats.LoadAverage():0.00}");
    Console.WriteLine();
}
foreach (var summary in summaries)
{
    Console.WriteLine(summary);
}
return verified ? 0 : 1;
