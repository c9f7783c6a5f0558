using MaestroSla.Client;
using MaestroSla.Client.Recording;

// In the namespace of UseRouting, UseAuthentication …: an app needs no using for it.
namespace Microsoft.AspNetCore.Builder;

public static class MaestroSlaApplicationBuilderExtensions
{
    /// <summary>
    /// Records every request that passes here: put it first, before UseExceptionHandler, so its latency is the whole
    /// pipeline's and its status the one the client got. Needs <c>services.AddMaestroSla()</c>.
    /// </summary>
    public static IApplicationBuilder UseMaestroSla(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService(typeof(MaestroSlaReporter)) is null)
        {
            throw new InvalidOperationException("UseMaestroSla needs the client's services: call builder.Services.AddMaestroSla() first.");
        }
        return app.UseMiddleware<MaestroSlaMiddleware>();
    }
}
