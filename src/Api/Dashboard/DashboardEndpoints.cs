using MaestroSla.Api.Reports;
using MaestroSla.Contracts.Messages;
using MaestroSla.Projections.Latency;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Series;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Wolverine.Http;

namespace MaestroSla.Api.Dashboard;

public static class DashboardEndpoints
{
    /// <summary>At most this many steps per series (an hourly series over about 83 days).</summary>
    public const int MaxSteps = 2_000;

    public static ProblemDetails Validate(
        string service, string? endpoint, string? customer, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, string? step,
        IOptions<ReportOptions> reports, IOptions<ContractLimits> limits, TimeProvider time)
    {
        var (period, periodProblem) = ReportQuery.Period(month, from, to, tz, time, reports.Value.MaxRange);
        if ((ReportQuery.Problem(service, NullIfEmpty(endpoint), null, limits.Value, NullIfEmpty(customer)) ?? periodProblem) is { } problem)
        {
            return problem;
        }
        if (StepOf(step) is not { } seriesStep)
        {
            return ReportQuery.BadRequest("step must be hour or day");
        }
        var steps = Steps(period!, seriesStep);
        return steps.Count > MaxSteps
            ? ReportQuery.BadRequest($"At most {MaxSteps} steps per series", $"The period has {steps.Count} {step ?? "hour"} steps; use step=day or a shorter period.")
            : WolverineContinue.NoProblems;
    }

    /// <summary>
    /// A report period as a time series for the dashboard's charts: per local hour or day (?step=hour|day) of the
    /// zone, requests, errors, error rate, P50/P95/P99 and uptime; the downtime intervals; and the cumulative
    /// consumption of the error and downtime budgets. Same period parameters as the report (month+tz or
    /// from+to, endpoint or customer); figures come from the same rollups, so the steps add up to the report.
    /// </summary>
    [WolverineGet("/api/reports/{service}/series")]
    public static async Task<IResult> Series(
        string service, string? endpoint, string? customer, string? month, DateTimeOffset? from, DateTimeOffset? to, string? tz, string? step,
        IQuerySession session, IOptions<SlaOptions> options, IOptions<ReportOptions> reports, TimeProvider time, CancellationToken ct)
    {
        endpoint = NullIfEmpty(endpoint);
        customer = NullIfEmpty(customer);
        var now = time.GetUtcNow();
        var period = ReportQuery.Period(month, from, to, tz, time, reports.Value.MaxRange).Period!;
        var seriesStep = StepOf(step)!.Value;
        var steps = Steps(period, seriesStep);

        // Downtime (reported and health-derived, merged) and the targets come from the report itself.
        var report = await SlaReportBuilder.BuildAsync(session, options.Value, service, period.From, period.To, period.TimeZone, null, ct, endpoint, customer);
        if (await ReportQuery.UnknownAsync(session, options.Value, report, ct) is { } unknown)
        {
            return unknown;
        }
        var targets = await SlaTargetStreams.ResolveAsync(session, options.Value, service, asOf: null, ct);
        var rollups = await LatencyRollups.LoadAsync(session, service, RollupSeries.Key(endpoint, customer), SlaSeriesBuilder.RollupSegments(steps), ct);
        return Results.Ok(SlaSeriesBuilder.Build(
            service, endpoint, period.TimeZone, seriesStep, period.From, period.ScheduledTo ?? period.To, now, targets.Targets, steps, rollups, report.DowntimeEvents, customer));
    }

    private static SeriesStep? StepOf(string? step) => step switch
    {
        null or "" or "hour" => SeriesStep.Hour,
        "day" => SeriesStep.Day,
        _ => null,
    };

    // The chart spans the whole month (future steps empty); the report behind it only the elapsed part.
    private static List<(DateTimeOffset Start, DateTimeOffset End)> Steps(ReportPeriod period, SeriesStep step) =>
        SlaSeriesBuilder.Steps(period.From, period.ScheduledTo ?? period.To, TimeZoneInfo.FindSystemTimeZoneById(period.TimeZone), step);

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
