using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using MaestroSla.Bench.Measuring;
using MaestroSla.Bench.Phases;

namespace MaestroSla.Bench;

/// <summary>The summary: a markdown table that can go into docs/benchmarks.md as printed.</summary>
internal static class Report
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Machine() => string.Create(Invariant,
        $"{Environment.ProcessorCount} cores ({ProcStats.CpuModel()}), {ProcStats.TotalMemoryBytes() / (1024.0 * 1024 * 1024):0.0} GiB RAM, {RuntimeInformation.OSDescription}, .NET {Environment.Version}, {GcMode.Describe()}");

    public static string Render(
        BenchOptions options, string commandLine, DateTimeOffset started, double loadAtStart, string postgres, double averageBytes,
        IngestOutcome maestro, IngestOutcome? naive, IngestOutcome? drain, StageCosts? stages, MonthOutcome? month)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(Invariant));

        Line($"## Ingest benchmark, {started:yyyy-MM-dd HH:mm} UTC");
        text.AppendLine();
        Line($"- command: `{commandLine}`");
        Line($"- machine: {Machine()}");
        Line($"- {postgres}");
        Line($"- traffic: {options.Services} services × {options.EndpointsPerService} endpoints, {options.ErrorRate:P0} errors, timestamps {options.Timestamps.ToString().ToLowerInvariant()} over {options.SpanHours} h, {averageBytes:0} B/message, {options.Partitions} partitions round robin, producer lead ≤ {options.LeadMiBPerPartition} MiB/partition");
        Line($"- TelemetryConsumer: FlushInterval {options.FlushIntervalMs} ms, MaxBatchMessages {options.MaxBatchMessages:N0}; naive: SaveChanges + Kafka commit per ≤ {options.NaiveBatch} messages");
        Line($"- consumers' librdkafka settings beyond KafkaIngestOptions' own: {Settings(options.ConsumerConfig)}; producer: linger.ms={options.LingerMs}, batch.size=131072, batch.num.messages=10000{(options.ProducerConfig.Count > 0 ? ", " + Settings(options.ProducerConfig) : "")}");
        Line($"- the load generator (mock Kafka broker + producer, a child process), the consumer (this process) and PostgreSQL share the {Environment.ProcessorCount} cores; 1-minute load average at the start: {loadAtStart:0.00}, at the end: {ProcStats.LoadAverage():0.00}");
        text.AppendLine();

        var columns = new[] { maestro, naive, drain }.OfType<IngestOutcome>().ToArray();
        text.Append("| |");
        foreach (var c in columns)
        {
            text.Append(CultureInfo.InvariantCulture, $" {c.Name} |");
        }
        text.AppendLine().Append("|---|");
        foreach (var _ in columns)
        {
            text.Append("---:|");
        }
        text.AppendLine();

        void Row(string label, Func<IngestOutcome, string> value)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {label} |");
            foreach (var c in columns)
            {
                text.Append(CultureInfo.InvariantCulture, $" {value(c)} |");
            }
            text.AppendLine();
        }

        Row("requests (messages)", c => c == naive ? $"{N(c.Messages)} (prefix)" : N(c.Messages));
        Row("wall time, first produce (drain: partitions assigned) → all stored", c => S(c.Cost.Wall.TotalSeconds));
        Row("**requests/s**", c => $"**{N(c.RequestsPerSecond)}**");
        Row("requests/s after the first 10 % (no start-up)", c => N(c.SteadyRequestsPerSecond));
        Row("events written", c => N(c.EventsWritten));
        Row("requests per event", c => F(c.Messages / (double)Math.Max(1, c.EventsWritten), "0.0"));
        Row("transactions (flushes / SaveChanges)", c => N(c.Flushes));
        Row("mt_events size", c => MiB(c.EventTableBytes));
        Row("WAL written", c => MiB(c.Cost.WalBytes));
        Row("WAL bytes per request", c => F(c.Cost.WalBytes / (double)c.Messages, "0.0"));
        Row("WAL fsyncs / checkpoints", c => $"{N(c.Cost.WalSyncs)} / {c.Cost.Checkpoints}");
        Row("bench process (consumer) peak RSS, VmHWM", c => MiB(c.Cost.BenchPeakRssBytes));
        Row("largest GC heap seen", c => MiB(c.Cost.MaxGcHeapBytes));
        Row("GC gen0 / gen1 / gen2", c => $"{c.Cost.Gen0} / {c.Cost.Gen1} / {c.Cost.Gen2}");
        Row("GC pause total", c => S(c.Cost.GcPause.TotalSeconds));
        Row("CPU: consumer process (cores)", c => Cores(c.Cost, c.Cost.BenchCpuSeconds));
        Row("CPU: load generator, broker + producer (cores)", c => Cores(c.Cost, c.Cost.LoadGeneratorCpuSeconds));
        Row("CPU: PostgreSQL (cores)", c => Cores(c.Cost, c.Cost.PostgresCpuSeconds));
        Row("CPU: all three (of 2)", c => Cores(c.Cost, c.Cost.BenchCpuSeconds + c.Cost.LoadGeneratorCpuSeconds + c.Cost.PostgresCpuSeconds));
        Row("CPU: other processes on the machine (not ours)", c => Cores(c.Cost, c.Cost.OtherCpuSeconds));
        Row("CPU µs per request: consumer / broker+producer / PostgreSQL", c =>
            $"{F(c.Cost.BenchCpuSeconds * 1e6 / c.Messages, "0.0")} / {F(c.Cost.LoadGeneratorCpuSeconds * 1e6 / c.Messages, "0.0")} / {F(c.Cost.PostgresCpuSeconds * 1e6 / c.Messages, "0.0")}");
        Row("load generator peak RSS", c => MiB(c.Cost.LoadGeneratorPeakRssBytes));
        Row("producer waiting on the lead limit", c => c == drain ? "(backlog produced before)" : $"{S(c.Produced.PacedWait.TotalSeconds)} (lead ≤ {N(c.Produced.MaxLeadPerPartition)} msgs per partition)");
        Row("group join (not timed)", c => c == drain ? "(not timed)" : S(c.GroupJoin.TotalSeconds));
        Row("verified in the database", c => c.Verified
            ? $"yes: {N(c.RequestsStored)} requests, {N(c.ErrorsStored)} errors{(c != naive ? ", offsets = produced" : "")}"
            : "NO: " + string.Join("; ", c.Problems));
        text.AppendLine();

        if (naive is not null)
        {
            Line($"**MaestroSla / naive throughput: {maestro.RequestsPerSecond / naive.RequestsPerSecond:0.0}×** (naive measured on the first {naive.Messages:N0} messages of the same traffic; one event per request cannot do {maestro.Messages:N0} in reasonable time)");
            text.AppendLine();
        }

        foreach (var phase in new[] { maestro, drain }.OfType<IngestOutcome>())
        {
            Line($"Consumer process CPU by thread ({phase.Name}, {phase.Cost.Wall.TotalSeconds:0.0} s):");
            foreach (var (group, seconds) in phase.Cost.BenchThreads)
            {
                Line($"- {group}: {seconds:0.0} s ({seconds / phase.Cost.Wall.TotalSeconds:0.00} cores)");
            }
            text.AppendLine();
        }

        if (stages is not null)
        {
            Line($"Stage costs: one thread, nothing else running, first {stages.Messages:N0} messages, batches of {stages.BatchMessages:N0} ({stages.EventsPerBatch:0} events each):");
            text.AppendLine();
            Line($"| step | cost |");
            Line($"|---|---:|");
            Line($"| bare Kafka consume (client + mock broker, {N(stages.ConsumedMessages)} msgs) | {stages.ConsumeMicros:0.00} µs/msg ({1e6 / stages.ConsumeMicros:N0}/s; consumer {stages.ConsumeBenchCores:0.00} cores, broker {stages.ConsumeLoadGeneratorCores:0.00} cores) |");
            Line($"| decode (TelemetryDecoder, best of 3 passes) | {stages.DecodeMicros:0.00} µs/msg |");
            Line($"| aggregate (IngestBatch.Add, best of 3 passes) | {stages.AggregateMicros:0.00} µs/msg |");
            Line($"| encode (ToEventsByService: HDR encode per endpoint-minute) | {stages.EncodeMillisPerBatch:0.0} ms/batch = {stages.EncodeMillisPerBatch * 1000 / stages.BatchMessages:0.00} µs/msg |");
            Line($"| write (IngestBatchWriter, one durable transaction) | {stages.WriteMillisPerBatch:0.0} ms/batch = {stages.WriteMillisPerBatch * 1000 / stages.BatchMessages:0.00} µs/msg |");
            Line($"| sum: one consumer loop, steps in sequence | {stages.LoopMicros:0.00} µs/msg → at most {1e6 / stages.LoopMicros:N0} msg/s |");
            text.AppendLine();
        }

        if (month is not null)
        {
            RenderMonth(text, month);
        }
        return text.ToString();
    }

    private static void RenderMonth(StringBuilder text, MonthOutcome month)
    {
        void Line(FormattableString line) => text.AppendLine(line.ToString(Invariant));

        Line($"Month of data ({month.Month:yyyy-MM}): {month.Services} services × {month.Endpoints} endpoints, {N(month.Requests)} requests ({N(month.Errors)} errors), health checks every 5 min, 2 outages per service; stored one hour per transaction as ingest stores batches:");
        text.AppendLine();
        Line($"| figure | value |");
        Line($"|---|---:|");
        Line($"| events stored / event JSON | {N(month.Events)} / {month.EventJsonBytes / 1e6:0.0} MB |");
        Line($"| stored (generate + record + encode + write) | {S(month.Stored.TotalSeconds)} |");
        Line($"| projected by the async daemon (rebuild, pages of 5,000) | {S(month.Projected.TotalSeconds)} = {N(month.Events / month.Projected.TotalSeconds)} events/s, {N(month.RollupDocuments)} rollup documents |");
        var early = month.EarlyReports;
        var steady = month.Reports;
        Line($"| **SLA report latency**, uncached, steady: {N(steady.Queries)} queries after {N(steady.Warmup)} untimed (until 100 in a row compiled ≤ 20 methods), database vacuumed and analysed first | **p50 {steady.P50Ms:0.00} ms, p99 {steady.P99Ms:0.00} ms** (mean {steady.MeanMs:0.00}, max {steady.MaxMs:0.00}; {steady.Gen2Collections} gen-2 GCs, {steady.GcPause.TotalMilliseconds:0} ms GC pause, JIT {N(steady.JitMethods)} methods in {steady.JitTime.TotalMilliseconds:0} ms while timed; {steady.ClientCpuMsPerQuery:0.00} ms CPU per report in this process, PostgreSQL {steady.PostgresCores:0.00} cores) |");
        Line($"| … early: {N(early.Queries)} queries after {N(early.Warmup)} untimed (the JIT still tiering the report path up) | p50 {early.P50Ms:0.00} ms, p99 {early.P99Ms:0.00} ms (mean {early.MeanMs:0.00}, max {early.MaxMs:0.00}; {early.Gen2Collections} gen-2 GCs, {early.GcPause.TotalMilliseconds:0} ms GC pause, JIT {N(early.JitMethods)} methods in {early.JitTime.TotalMilliseconds:0} ms while timed; {early.ClientCpuMsPerQuery:0.00} ms CPU per report in this process, PostgreSQL {early.PostgresCores:0.00} cores) |");
        Line($"| **full backup** to a folder | **{S(month.BackupDuration.TotalSeconds)}**: {month.BackupBytes / 1e6 / month.BackupDuration.TotalSeconds:0.0} MB/s written ({month.BackupBytes / 1e6:0.0} MB), {month.EventJsonBytes / 1e6 / month.BackupDuration.TotalSeconds:0.0} MB/s of event JSON, {N(month.Events / month.BackupDuration.TotalSeconds)} events/s |");
        Line($"| **month restored** into an empty database (checksums, replay, projection rebuild) | **{S(month.RestoreDuration.TotalSeconds)}** |");
        Line($"| … replay (binary COPY of the events) | {S(month.ReplayDuration.TotalSeconds)} = {N(month.Events / month.ReplayDuration.TotalSeconds)} events/s = {N(month.Requests / month.ReplayDuration.TotalSeconds)} represented requests/s |");
        Line($"| … projection rebuild | {S(month.RebuildDuration.TotalSeconds)} |");
        if (month.Crypto is { } c)
        {
            static string Versus(TimeSpan plain, TimeSpan secured) =>
                string.Create(Invariant, $"{plain.TotalSeconds:0.00} s → {secured.TotalSeconds:0.00} s ({(secured.TotalSeconds / plain.TotalSeconds - 1) * 100:+0;-0} %)");
            Line($"| backup, plaintext → sealed (AES-256-GCM, 1 MiB frames) + HMAC-signed manifest, best of 3 alternating | {Versus(c.PlainBackup, c.SealedBackup)}; {c.PlainBytes / 1e6:0.0} → {c.SealedBytes / 1e6:0.0} MB |");
            Line($"| validate (checksums; sealed: + every frame authenticated), best of 3 alternating | {Versus(c.PlainValidate, c.SealedValidate)} |");
            Line($"| restore: checks + replay (the part encryption touches) | {Versus(c.PlainRestoreChecksAndReplay, c.SealedRestoreChecksAndReplay)} |");
            Line($"| restore end to end (with the projection rebuild) | {Versus(c.PlainRestore, c.SealedRestore)} |");
        }
        Line($"| verified (stored = generated; month reports count every request; restored reports = source reports) | {(month.Verified ? "yes" : "NO: " + string.Join("; ", month.Problems))} |");
        text.AppendLine();
    }

    private static string Settings(IReadOnlyDictionary<string, string> settings) =>
        settings.Count == 0 ? "none (librdkafka defaults)" : string.Join(", ", settings.Select(s => $"{s.Key}={s.Value}"));

    private static string N(double value) => value.ToString("N0", Invariant);

    private static string F(double value, string format) => value.ToString(format, Invariant);

    private static string S(double seconds) => seconds.ToString("0.0", Invariant) + " s";

    private static string MiB(long bytes) => (bytes / (1024.0 * 1024)).ToString("N0", Invariant) + " MiB";

    private static string Cores(PhaseCost cost, double seconds) =>
        $"{cost.Cores(seconds).ToString("0.00", Invariant)} ({seconds.ToString("0", Invariant)} s)";
}
