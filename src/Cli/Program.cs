using MaestroSla.Cli;
using Spectre.Console;

return await MaestroCli.RunAsync(args, AnsiConsole.Console);
