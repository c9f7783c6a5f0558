using System.Globalization;
using System.Text;
using MaestroSla.Bench.Phases;

namespace MaestroSla.Bench;

/// <summary>The tables of the live, instances and HTTP phases, in markdown as they go into docs/benchmarks.md.</summary>
internal static class LoadReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string RenderLive(BenchOptions options, IReadOnlyList<LiveOutcome> outcomes)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(Invariant));
        Line($"### Live steady load through Kafka (rates {string.Join(", ", options.LiveRates.Select(r => r.ToString("N0", Invariant)))} req/s, {options.LiveStepSeconds:0} s each, lag ≤ {options.LiveMaxLagSeconds:0} s)");
        text.AppendLine();
        Line($"Paced producer (timestamps = now, keyed by service, {options.Partitions} partitions) → mock broker → src/Api as a child process (TelemetryConsumer holding open minutes, HotCold daemon) → durable PostgreSQL. Projection lag: age of the oldest stored event the latency rollups have not applied (sampled every second); consumer lag: traffic produced by each batch's commit minus the stored next offsets, in seconds; minute end → stored includes the 10 s Kafka:OpenMinuteGrace by design. Events, bytes and totals over every step of the cardinality; report p99: {options.LiveReportQueries} uncached SlaReportBuilder reports of random services over the current UTC day, taken during the sustained step's last 30 %, and the same reports after the load (service stopped, rollups caught up).");
        text.AppendLine();
        Line($"| series (services × endpoints) | nodes | **sustained req/s** | first step not sustained | events / request | bytes / request: mt_events / rollups | report p99 during / after load | PostgreSQL CPU (cores, share of busy CPU) | service CPU (cores) | service RSS peak | projection / consumer lag, minute end → stored | verified |");
        Line($"|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var o in outcomes)
        {
            var best = o.Best;
            var failure = o.FirstFailure;
            Line($"| {o.Series:N0} ({o.Services} × {o.EndpointsPerService}{(o.CustomersPerService > 0 ? $", {o.CustomersPerService:N0} customers each, {o.CustomerEvents:N0} customer events" : "")}) | {o.ProjectionNodes} | **{(best is null ? "none" : best.TargetRate.ToString("N0", Invariant))}** | {(failure is null ? "— (all sustained)" : $"{failure.TargetRate:N0}: {failure.Failure}")} | {o.RequestEvents / (double)Math.Max(1, o.Stored):0.00000} | {o.EventBytes / (double)Math.Max(1, o.Stored):0.00} / {o.RollupBytes / (double)Math.Max(1, o.Stored):0.00} | {(best?.Reports is { } r ? $"{r.P99Ms:0.0} ms" : "—")} / {(o.QuietReports is { } q ? $"{q.P99Ms:0.0} ms" : "—")} | {(best is null ? "—" : $"{best.PostgresCores:0.00} ({best.PostgresShare:P0})")} | {(best is null ? "—" : best.ServiceCores.ToString("0.00", Invariant))} | {o.ServicePeakRssBytes / 1048576.0:N0} MiB | {(best is null ? "—" : $"{best.MaxProjectionLag.TotalSeconds:0.0} s / {best.MaxConsumerLag.TotalSeconds:0.0} s, {best.MaxIngestDelay.TotalSeconds:0.0} s")} | {(o.Verified ? $"yes: {o.Stored:N0} requests, {o.ErrorsStored:N0} errors = produced" : "NO: " + string.Join("; ", o.Problems))} |");
        }
        text.AppendLine();
        Line($"Every step (cores: service / PostgreSQL / load generator / other processes on the machine, not ours):");
        text.AppendLine();
        Line($"| series | nodes | target req/s | produced req/s | projection lag | consumer lag | minute end → stored | report p50 / p99 | cores | outcome |");
        Line($"|---:|---:|---:|---:|---:|---:|---:|---:|---|---|");
        foreach (var o in outcomes)
        {
            foreach (var s in o.Steps)
            {
                Line($"| {o.Series:N0} | {o.ProjectionNodes} | {s.TargetRate:N0} | {s.AchievedRate:N0} | {Seconds(s.MaxProjectionLag)} | {Seconds(s.MaxConsumerLag)} | {Seconds(s.MaxIngestDelay)} | {(s.Reports is { } r ? $"{r.P50Ms:0.0} / {r.P99Ms:0.0} ms" : "—")} | {s.ServiceCores:0.00} / {s.PostgresCores:0.00} / {s.LoadGeneratorCores:0.00} / {s.OtherCores:0.00} | {(s.Sustained ? "sustained" : s.Failure)} |");
            }
        }
        text.AppendLine();
        return text.ToString();
    }

    public static string RenderInstances(BenchOptions options, IReadOnlyList<InstancesOutcome> outcomes)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(Invariant));
        Line($"### Ingest instances in one consumer group ({InstancesPhase.Shape(options.InstancesSeries)}, {options.InstancesRate:N0} req/s for {options.InstancesSeconds:0} s, one process SIGKILLed at a third)");
        text.AppendLine();
        Line($"src/Api processes with the consumer on and projections off, session.timeout.ms 6000, heartbeat 1000. Rolled back: \"not stored\" warnings in every log; collisions: log lines naming pk_mt_events_stream_and_version or EventStreamUnexpectedMaxEventIdException. Reassigned: from the kill until a survivor logged the last of the killed process's partitions as assigned; stored again: until each of them (those with traffic) had a committed row again. Minutes are stored at their end + 10 s, so \"stored again\" cannot come before the next such moment (last column).");
        text.AppendLine();
        Line($"| ingest processes | req/s produced | requests produced / stored | batches stored | **batches rolled back** | **stream-version collisions** | partitions moved | reassigned after | **stored again after** | next minute store after the kill | verified |");
        Line($"|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var o in outcomes)
        {
            Line($"| {o.Instances} | {o.Rate:N0} | {o.Produced:N0} / {o.Stored:N0} | {o.Batches:N0} | **{o.NotStored}** | **{o.Collisions}** | {o.VictimPartitions} | {Seconds(o.Reassigned)} | **{Seconds(o.StoredAgain)}** | {o.NextMinuteStore.TotalSeconds:0.0} s | {(o.Verified ? "yes, exactly once" : "NO: " + string.Join("; ", o.Problems))} |");
        }
        text.AppendLine();
        return text.ToString();
    }

    public static string RenderHttp(BenchOptions options, HttpOutcome outcome)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(Invariant));
        Line($"### HTTP ingest: wrk against POST /api/ingest ({options.HttpSeconds:0} s per run)");
        text.AppendLine();
        Line($"src/Api as a child process (consumer and projections off, rate limit off), wrk {string.Join("/", options.HttpConnections)} connections (2 threads), prepared bodies stamped at the start of each shape. Stored: messages in the events appended during the run, checked against 200 answers × batch (requests still in flight when wrk stops may be stored without wrk seeing the answer: named). Kafka: one TelemetryConsumer draining {options.HttpKafkaMessages:N0} messages of the same series count (backlog, no projections).");
        text.AppendLine();
        Line($"| series | batch | connections | requests/s | **messages/s stored** | vs Kafka | 200 | 503 + Retry-After | other non-2xx / socket errors | p50 | **p99** | events / message | stored exactly once |");
        Line($"|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|");
        foreach (var r in outcome.Runs)
        {
            var kafka = outcome.Kafka.TryGetValue(r.Series, out var k) ? $"{r.StoredPerSecond / k.RequestsPerSecond:P0}" : "—";
            var connections = r.TargetRate is { } target ? $"{r.Connections}, paced to half saturation ({target:N0} req/s)" : r.Connections.ToString(Invariant);
            var others = r.OtherStatuses.Count == 0 ? "0" : string.Join(", ", r.OtherStatuses.Select(s => $"{s.Key}: {s.Value:N0}"));
            Line($"| {r.Series:N0} | {r.Batch:N0} | {connections} | {r.RequestsPerSecond:N0} | **{r.StoredPerSecond:N0}** | {kafka} | {r.Ok:N0} | {r.RetryAfter503:N0} | {others} / {r.SocketErrors} | {r.P50Ms:0.0} ms | **{r.P99Ms:0.0} ms** | {r.Events / (double)Math.Max(1, r.StoredMessages):0.000} | {r.Verification} |");
        }
        foreach (var (series, k) in outcome.Kafka)
        {
            Line($"| {series:N0} | Kafka | (consumer) | — | **{k.RequestsPerSecond:N0}** | 100 % | — | — | — | — | — | {k.EventsWritten / (double)Math.Max(1, k.Messages):0.000} | {(k.Verified ? "yes" : "NO: " + string.Join("; ", k.Problems))} |");
        }
        text.AppendLine();

        var at64 = outcome.Runs.Where(r => r.Connections == 64 && r.TargetRate is null).ToList();
        Line($"- 0 errors at 64 connections (503 + Retry-After is backpressure, counted apart): {(at64.Count == 0 ? "not run" : at64.All(r => r.Failures == 0) ? "**met**" : $"**not met**: {at64.Sum(r => r.Failures):N0} errors")}; 503s with Retry-After: {at64.Sum(r => r.RetryAfter503):N0}");
        foreach (var series in options.HttpSeries)
        {
            if (outcome.Kafka.TryGetValue(series, out var k))
            {
                var best = outcome.Runs.Where(r => r.Series == series && r.TargetRate is null).MaxBy(r => r.StoredPerSecond);
                if (best is not null)
                {
                    var ratio = best.StoredPerSecond / k.RequestsPerSecond;
                    Line($"- HTTP ≥ 50 % of Kafka at {series:N0} series: best HTTP {best.StoredPerSecond:N0} msgs/s ({best.Batch:N0}-message batches, {best.Connections} connections) = {ratio:P0} of Kafka's {k.RequestsPerSecond:N0} → {(ratio >= 0.5 ? "**met**" : "**not met**")}");
                }
            }
            var paced = outcome.Runs.FirstOrDefault(r => r.Series == series && r.TargetRate is not null);
            if (paced is not null)
            {
                Line($"- p99 of a 1,000-message batch at half saturation, {series:N0} series: {paced.P99Ms:0.0} ms at {paced.RequestsPerSecond:N0} req/s (target {paced.TargetRate:N0}) → {(paced.P99Ms <= 50 ? "**met**" : "**not met**")} (≤ 50 ms)");
            }
        }
        Line($"- service peak RSS {outcome.ServicePeakRssBytes / 1048576.0:N0} MiB");
        text.AppendLine();
        return text.ToString();
    }

    private static string Seconds(TimeSpan? span) =>
        span is not { } value ? "—" : value == TimeSpan.MaxValue ? "?" : value.TotalSeconds.ToString("0.0", Invariant) + " s";
}
