using System.Net;
using System.Text;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Reports;
using MaestroSla.Local.Traffic;
using MaestroSla.Sla.Reports;
using Shouldly;

namespace MaestroSla.Tests.Reports;

/// <summary>
/// Requests, downtime and health checks around the most recent month boundary of a time zone, kept raw so that
/// a test can compute every report figure the slow, obvious way and compare.
/// </summary>
public sealed class GeneratedTelemetry
{
    public const string Service = "billing";

    public sealed record Request(string Endpoint, long LatencyMicros, bool IsError, DateTimeOffset At);

    public List<Request> Requests { get; } = [];
    public List<(DateTimeOffset Start, DateTimeOffset End, string Reason)> Downtimes { get; } = [];
    public List<(string Component, string Status, DateTimeOffset At)> Checks { get; } = [];

    /// <summary>Health-check downtime by construction: runs of at least three failed checks.</summary>
    public List<(DateTimeOffset Start, DateTimeOffset End)> ExpectedHealthDowntime { get; } = [];

    /// <summary>Local midnight that starts the current month in the zone, as an instant.</summary>
    public DateTimeOffset Boundary { get; private init; }

    public DateTime BoundaryLocal { get; private init; }

    public static GeneratedTelemetry AroundLastMonthBoundary(string timeZone, int seed)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        var now = DateTimeOffset.UtcNow;
        var localNow = TimeZoneInfo.ConvertTime(now, zone);
        var boundaryLocal = new DateTime(localNow.Year, localNow.Month, 1, 0, 0, 0, DateTimeKind.Unspecified);
        var boundary = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(boundaryLocal, zone), TimeSpan.Zero);
        var data = new GeneratedTelemetry { Boundary = boundary, BoundaryLocal = boundaryLocal };

        var start = boundary.AddDays(-3);
        var end = Min(boundary.AddDays(3), now.AddMinutes(-10));
        var shape = new TrafficShape([TrafficService.Of(Service, ["GET /invoices", "POST /invoices", "GET /invoices/{id}"], medianMs: 30, errorRate: 0.01)], seed)
        {
            LatencySigma = 0.7,
            ErrorStatuses = [500],
        };
        foreach (var request in new TrafficGenerator(shape).Requests(24_000, start, end))
        {
            data.Requests.Add(new Request(request.Endpoint, request.LatencyMicros, request.IsError, request.Timestamp));
        }

        var b = boundary;
        data.Downtimes.Add((b.AddHours(-20), b.AddHours(-19).AddMinutes(-40), "deploy"));
        data.Downtimes.Add((b.AddHours(-19).AddMinutes(-50), b.AddHours(-19).AddMinutes(-30), "probe"));      // overlaps
        data.Downtimes.Add((b.AddHours(-19).AddMinutes(-30), b.AddHours(-19).AddMinutes(-20).AddSeconds(7), "probe")); // adjacent
        data.Downtimes.Add((b.AddMinutes(-5).AddSeconds(-3), Min(b.AddMinutes(7).AddSeconds(13), now.AddMinutes(-10)), "failover")); // across the boundary
        data.Downtimes.Add((start.AddHours(-1), start.AddMinutes(10), "before the data")); // starts before any window

        // Health checks every minute for an hour, ten hours before the boundary: db fails 5 in a row (down),
        // then 2 in a row (a blip, not down); cache fails exactly 3 (down).
        var checksStart = b.AddHours(-10);
        for (var minute = 0; minute < 60; minute++)
        {
            var at = checksStart.AddMinutes(minute);
            data.Checks.Add(("db", minute is >= 10 and < 15 or >= 30 and < 32 ? "unhealthy" : "healthy", at));
            data.Checks.Add(("cache", minute is >= 40 and < 43 ? "unhealthy" : minute == 43 ? "degraded" : "healthy", at));
        }
        data.ExpectedHealthDowntime.Add((checksStart.AddMinutes(10), checksStart.AddMinutes(15)));
        data.ExpectedHealthDowntime.Add((checksStart.AddMinutes(40), checksStart.AddMinutes(43)));
        return data;
    }

    /// <summary>Posts the downtime, the health checks and the first <paramref name="requests"/> requests.</summary>
    public async Task PostAsync(HttpClient client, int requests)
    {
        var others = new List<string>();
        foreach (var (start, end, reason) in Downtimes)
        {
            others.Add(Text(TelemetryWriter.Downtime(Service, start, end, reason)));
        }
        foreach (var (component, status, at) in Checks)
        {
            others.Add(Text(TelemetryWriter.Health(Service, component, status, 2.5, at)));
        }
        await PostJsonAsync(client, others);
        await PostRequestsAsync(client, Requests.Take(requests).ToList());
    }

    public static async Task PostRequestsAsync(HttpClient client, IReadOnlyList<Request> requests)
    {
        await PostJsonAsync(client, requests.Select(r =>
            Text(TelemetryWriter.Request(Service, r.Endpoint, Distributions.WireMilliseconds(r.LatencyMicros / 1000.0), r.IsError ? 500 : 200, r.At))));
    }

    private static async Task PostJsonAsync(HttpClient client, IEnumerable<string> messages)
    {
        foreach (var chunk in messages.Chunk(5_000))
        {
            using var content = new StringContent("[" + string.Join(",", chunk) + "]", Encoding.UTF8, "application/json");
            var response = await client.PostAsync("/api/ingest", content);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>Checks every figure of <paramref name="report"/> against the raw data (all requests by default).</summary>
    public void AssertMatches(SlaReport report, IReadOnlyList<Request>? requests = null)
    {
        requests ??= Requests;

        // Requests: the report resolves latency windows to whole minutes (from rounded down, to rounded up).
        var first = Floor(report.From);
        var last = Floor(report.To) < report.To ? Floor(report.To).AddMinutes(1) : report.To;
        var inWindow = requests.Where(r => r.At >= first && r.At < last).ToList();
        report.Requests.Total.ShouldBe(inWindow.Count);
        report.Requests.Errors.ShouldBe(inWindow.Count(r => r.IsError));
        if (inWindow.Count > 0)
        {
            report.Requests.ErrorRatePercent!.Value.ShouldBe(100.0 * inWindow.Count(r => r.IsError) / inWindow.Count, 1e-9);
        }

        // Latency percentiles within HdrHistogram's 3 significant digits of the exact sorted values, with
        // HdrHistogram's rank rule (nearest rank, rounded).
        var sorted = inWindow.Select(r => r.LatencyMicros).Order().ToArray();
        foreach (var (percentile, reported) in new[] { (50.0, report.Latency.P50Ms), (90.0, report.Latency.P90Ms), (95.0, report.Latency.P95Ms), (99.0, report.Latency.P99Ms), (99.9, report.Latency.P999Ms) })
        {
            if (sorted.Length == 0)
            {
                reported.ShouldBeNull();
                continue;
            }
            var rank = Math.Max(1, (long)((percentile / 100 * sorted.Length) + 0.5));
            var exactMs = sorted[rank - 1] / 1000.0;
            reported!.Value.ShouldBe(exactMs, (exactMs * 0.001) + 0.001, $"P{percentile}");
        }

        // Uptime, exact to the second: mark every second of the window that any interval covers.
        var seconds = (int)(report.To - report.From).TotalSeconds;
        var down = new bool[seconds];
        foreach (var (start, end) in Downtimes.Select(d => (d.Start, d.End)).Concat(ExpectedHealthDowntime))
        {
            for (var s = Math.Max(0, (int)(start - report.From).TotalSeconds); s < Math.Min(seconds, (int)(end - report.From).TotalSeconds); s++)
            {
                down[s] = true;
            }
        }
        var downSeconds = down.Count(d => d);
        var runs = down.Where((d, i) => d && (i == 0 || !down[i - 1])).Count();
        report.Uptime.Downtime.TotalSeconds.ShouldBe(downSeconds);
        report.Uptime.UptimePercent!.Value.ShouldBe(100.0 * (seconds - downSeconds) / seconds, 1e-9);
        report.DowntimeEventCount.ShouldBe(runs);
        report.DowntimeEvents.Count.ShouldBe(runs);
    }

    private static DateTimeOffset Floor(DateTimeOffset t) => new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string Text(byte[] message) => Encoding.UTF8.GetString(message);
}
