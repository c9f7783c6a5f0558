using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using MaestroSla.MicroBench;
using MaestroSla.MicroBench.Accuracy;

// No arguments: the accuracy report, then every benchmark. "accuracy": the report alone. Anything else is
// BenchmarkDotNet's (e.g. --filter *Merge*), without the report.
if (args.Length == 0 || args is ["accuracy"])
{
    PercentileAccuracy.Print(Console.Out);
    if (args.Length > 0)
    {
        return 0;
    }
}

var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroBenchConfig).Assembly)
    .Run(args.Length == 0 ? ["--filter", "*"] : args, MicroBenchConfig.Create())
    .ToArray();

// BenchmarkDotNet prints each class's table amid thousands of lines of its log: print them again, together, under
// one copy of the environment they share.
if (summaries.Length > 0)
{
    Console.WriteLine();
    Console.WriteLine("// * All summaries *");
}
for (var i = 0; i < summaries.Length; i++)
{
    var markdown = new AccumulationLogger();
    MarkdownExporter.Console.ExportToLog(summaries[i], markdown);
    var text = markdown.GetLog();
    var tableAt = text.IndexOf("\n|", StringComparison.Ordinal) + 1;
    if (i == 0)
    {
        Console.WriteLine(text[..tableAt].Trim());
        Console.WriteLine();
    }
    Console.WriteLine($"// {summaries[i].BenchmarksCases[0].Descriptor.Type.Name}");
    Console.WriteLine(text[tableAt..].Trim());
    Console.WriteLine();
}
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
