using JasperFx;
using MaestroSla.Api.Hosting;
using MaestroSla.Api.Security;

// `hash-key` / `new-key`: API key helpers that print and exit (see Security/ApiKeyCommand.cs).
if (ApiKeyCommand.TryRun(args, Console.In, Console.Out))
{
    return 0;
}

var app = await MaestroApp.BuildAsync(args);
if (args is ["codegen", ..])
{
    return await app.RunJasperFxCommands(args);
}
await app.RunAsync();
return 0;
