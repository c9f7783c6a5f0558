using MaestroSla.Api.Hosting;

var app = await MaestroApp.BuildAsync(args);
await app.RunAsync();
