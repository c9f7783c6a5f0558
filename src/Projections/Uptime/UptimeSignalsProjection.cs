using System.Globalization;
using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Messages;
using MaestroSla.Projections.Latency;
using Marten;
using JasperFx.Events.Projections;
using Marten.Events.Projections;

namespace MaestroSla.Projections.Uptime;

/// <summary>A downtime interval a service reported, one document per <see cref="DowntimeRecorded"/> event.</summary>
public sealed class ReportedDowntime
{
    public required Guid Id { get; init; }
    public required string Service { get; init; }
    public required DateTimeOffset Start { get; init; }
    public required DateTimeOffset End { get; init; }
    public required string Reason { get; init; }
}

/// <summary>
/// A service's health checks on one UTC day, per component, as parallel lists in the order they were stored (late
/// checks are appended; readers order them). Reports read the runs of whole days (<see cref="HealthRunsDay"/>) and
/// the checks of a day the period ends in, instead of every check event.
/// </summary>
public sealed class HealthCheckDay
{
    public required string Id { get; init; }
    public required string Service { get; init; }
    public required DateTimeOffset Day { get; init; }
    public Dictionary<string, HealthCheckSeries> Components { get; set; } = new(StringComparer.Ordinal);

    public static string IdFor(string service, DateTimeOffset day) =>
        string.Create(CultureInfo.InvariantCulture, $"{service}|{day.UtcDateTime:yyyyMMdd}");

    public IEnumerable<HealthChecked> Checks()
    {
        foreach (var (component, series) in Components)
        {
            for (var i = 0; i < series.At.Count; i++)
            {
                yield return new HealthChecked(Service, component, series.Status[i], series.LatencyMs[i], series.At[i]);
            }
        }
    }
}

/// <summary>
/// The same day's checks as runs (<see cref="HealthDowntime.Runs"/>), same id: all a report reads of a whole day,
/// a few hundred bytes instead of the day's checks.
/// </summary>
public sealed class HealthRunsDay
{
    public required string Id { get; init; }
    public required string Service { get; init; }
    public required DateTimeOffset Day { get; init; }
    public List<HealthRun> Runs { get; set; } = [];
}

public sealed class HealthCheckSeries
{
    public List<DateTimeOffset> At { get; set; } = [];
    public List<HealthState> Status { get; set; } = [];
    public List<double> LatencyMs { get; set; } = [];
}

/// <summary>
/// What a report needs to compute uptime, kept so that it is found by service and time: reported downtime as
/// documents, health checks grouped per service and day. Reading them as raw events made every report read the
/// service's whole history of checks (docs/benchmarks.md).
/// </summary>
public sealed class UptimeSignalsProjection : ProjectionBase, IProjection
{
    public const string ProjectionName = "uptime_signals";

    // The daemon then reads only these events, never the far larger request events.
    public UptimeSignalsProjection()
    {
        IncludeType<DowntimeRecorded>();
        IncludeType<HealthChecked>();
    }

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var checksByDay = new Dictionary<string, List<HealthChecked>>(StringComparer.Ordinal);
        foreach (var @event in events)
        {
            switch (@event.Data)
            {
                case DowntimeRecorded downtime:
                    operations.Store(new ReportedDowntime
                    {
                        Id = @event.Id, Service = downtime.Service, Start = downtime.Start, End = downtime.End, Reason = downtime.Reason,
                    });
                    break;
                case HealthChecked check:
                    var id = HealthCheckDay.IdFor(check.Service, LatencyRollup.StartOf(RollupGrain.Day, check.CheckedAt));
                    if (!checksByDay.TryGetValue(id, out var checks))
                    {
                        checks = [];
                        checksByDay.Add(id, checks);
                    }
                    checks.Add(check);
                    break;
            }
        }
        if (checksByDay.Count == 0)
        {
            return;
        }

        var stored = (await operations.LoadManyAsync<HealthCheckDay>(cancellation, checksByDay.Keys.ToArray())).ToDictionary(d => d.Id, StringComparer.Ordinal);
        foreach (var (id, checks) in checksByDay)
        {
            var day = stored.GetValueOrDefault(id)
                ?? new HealthCheckDay { Id = id, Service = checks[0].Service, Day = LatencyRollup.StartOf(RollupGrain.Day, checks[0].CheckedAt) };
            foreach (var check in checks)
            {
                if (!day.Components.TryGetValue(check.Component, out var series))
                {
                    series = new HealthCheckSeries();
                    day.Components.Add(check.Component, series);
                }
                series.At.Add(check.CheckedAt);
                series.Status.Add(check.Status);
                series.LatencyMs.Add(check.LatencyMs);
            }
            operations.Store(day);
            operations.Store(new HealthRunsDay { Id = day.Id, Service = day.Service, Day = day.Day, Runs = HealthDowntime.Runs(day.Checks()) });
        }
    }
}
