using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MaestroSla.Client.Recording;

/// <summary>
/// ASP.NET Core runs the app's health checks every HealthCheckPublisherOptions.Period and hands the results here: one
/// health message per check (component = the check's name). MaestroSla counts a component failing three checks in a
/// row as downtime of the service, from the first failure to the next pass.
/// </summary>
internal sealed class HealthCheckResultsPublisher(MaestroSlaReporter reporter, IOptions<MaestroSlaOptions> options) : IHealthCheckPublisher
{
    public Task PublishAsync(HealthReport report, CancellationToken cancellationToken)
    {
        if (!options.Value.PublishHealthChecks)
        {
            return Task.CompletedTask;
        }
        foreach (var (name, entry) in report.Entries)
        {
            reporter.ReportHealth(name, entry.Status, entry.Duration);
        }
        return Task.CompletedTask;
    }
}
