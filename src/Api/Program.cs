using MaestroSla.Api.Hosting;
using MaestroSla.Api.Security;

// `hash-key` / `new-key`: API key helpers that print and exit (see Security/ApiKeyCommand.cs).
if (ApiKeyCommand.TryRun(args, Console.In, Console.Out))
{
    return;
}

var app = await MaestroApp.BuildAsync(args);
await app.RunAsync();
