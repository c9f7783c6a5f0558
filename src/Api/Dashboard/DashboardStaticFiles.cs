using Microsoft.Extensions.FileProviders;

namespace MaestroSla.Api.Dashboard;

public static class DashboardStaticFiles
{
    /// <summary>
    /// Serves the dashboard (wwwroot: plain HTML, JS and the vendored uPlot; no front-end build) at "/". The files
    /// are embedded in the assembly, so `dotnet run`, a published image and the tests — which host the app from
    /// their own output folder, where no wwwroot exists — all serve the same bytes. Call it before authentication:
    /// the page itself holds no data and must load so that a user can enter an API key.
    /// </summary>
    public static WebApplication UseMaestroDashboard(this WebApplication app)
    {
        var files = new EmbeddedFileProvider(typeof(DashboardStaticFiles).Assembly, "MaestroSla.Api.wwwroot");
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            // Embedded files carry the assembly's time as Last-Modified; revalidate so a new build is picked up.
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
        return app;
    }
}
