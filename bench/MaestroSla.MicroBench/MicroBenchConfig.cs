using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace MaestroSla.MicroBench;

internal static class MicroBenchConfig
{
    public static IConfig Create() => ManualConfig.Create(DefaultConfig.Instance)
        // In process: the default toolchain generates, restores and builds a child project per benchmark class, tens
        // of seconds each on two busy cores, which alone would exceed the suite's 3-minute budget. The price is no
        // isolation between classes (one JIT, one GC heap), acceptable for figures read as ratios and allocations.
        // Short iterations, a few of them: the whole suite fits in ~2 minutes on two cores shared with other work. Enough
        // to rank and to count allocations; raise the counts here for tighter intervals (a --job argument would add a
        // second job rather than replace this one).
        .AddJob(Job.ShortRun
            .WithIterationCount(5)
            .WithIterationTime(TimeInterval.FromMilliseconds(250))
            .WithToolchain(InProcessEmitToolchain.Instance))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .HideColumns(Column.Job, Column.Toolchain, Column.IterationCount, Column.LaunchCount, Column.WarmupCount)
        .WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend))
        // Under bin/, which git ignores, rather than the working directory, usually the repository root.
        .WithArtifactsPath(Path.Combine(AppContext.BaseDirectory, "BenchmarkDotNet.Artifacts"));
}
