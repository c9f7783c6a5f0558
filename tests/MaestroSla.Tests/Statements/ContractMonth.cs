using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Statements;

/// <summary>
/// Last calendar month (UTC, inside the wire contract's 62 days) for two services, alpha and beta, laid out so that every
/// figure of a statement can be computed by hand: requests at known minutes, two maintenance windows (alpha's on whole
/// minutes, beta's cutting minutes at both edges), downtime partly inside alpha's window.
/// </summary>
public sealed class ContractMonth
{
    public const string Alpha = "alpha";
    public const string Beta = "beta";

    private ContractMonth(DateTimeOffset first)
    {
        First = first;
        Month = first.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        Seconds = (first.AddMonths(1) - first).TotalSeconds;
    }

    public DateTimeOffset First { get; }
    public string Month { get; }

    /// <summary>|P| of the month, seconds.</summary>
    public double Seconds { get; }

    public List<(string Service, double LatencyMs, int Status, DateTimeOffset At)> Requests { get; } = [];

    public static ContractMonth Previous()
    {
        var now = DateTimeOffset.UtcNow;
        var data = new ContractMonth(new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(-1));
        // alpha (141): 100 good and 1 failed request on day 5; 40 slow ones (20 failed) inside its window on day 10.
        data.Add(Alpha, 100, 50, 200, data.At(5, 12, 0, 10));
        data.Add(Alpha, 1, 80, 500, data.At(5, 12, 1, 0));
        data.Add(Alpha, 20, 900, 500, data.At(10, 2, 30, 0));
        data.Add(Alpha, 20, 900, 200, data.At(10, 2, 30, 20));
        // beta (215): 200 good on day 6; in the minutes its window (05:00:30–06:00:30 on day 12) cuts: 5 and 3 good; wholly
        // inside it, 7 slow failures.
        data.Add(Beta, 200, 100, 200, data.At(6, 9, 0, 0));
        data.Add(Beta, 5, 100, 200, data.At(12, 5, 0, 45));
        data.Add(Beta, 7, 700, 500, data.At(12, 5, 30, 0));
        data.Add(Beta, 3, 100, 200, data.At(12, 6, 0, 15));
        return data;
    }

    public DateTimeOffset At(int day, int hour, int minute = 0, int second = 0) => First.AddDays(day - 1).AddHours(hour).AddMinutes(minute).AddSeconds(second);

    public void Add(string service, int count, double latencyMs, int status, DateTimeOffset at)
    {
        for (var i = 0; i < count; i++)
        {
            Requests.Add((service, latencyMs, status, at));
        }
    }

    /// <summary>P99 of a set of latencies as the stored HDR histograms give it (3 significant digits).</summary>
    public static double P99(IEnumerable<double> latenciesMs)
    {
        var histogram = new LatencyHistogram();
        foreach (var latency in latenciesMs)
        {
            histogram.Record((long)Math.Round(latency * 1000));
        }
        return histogram.PercentileMs(99)!.Value;
    }

    /// <summary>Requests, downtime and the two windows through the API, then waits for the projections.</summary>
    public async Task PostAsync(RunningApp app)
    {
        var messages = Requests.Select(r => Encoding.UTF8.GetString(TelemetryWriter.Request(r.Service, "GET /x", r.LatencyMs, r.Status, r.At))).ToList();
        messages.Add(Encoding.UTF8.GetString(TelemetryWriter.Downtime(Alpha, At(10, 3, 30), At(10, 4, 30), "disk")));
        messages.Add(Encoding.UTF8.GetString(TelemetryWriter.Downtime(Beta, At(20, 10), At(20, 10, 20), "network")));
        await PostMessagesAsync(app, messages);
        await ScheduleAsync(app, Alpha, At(10, 2), At(10, 4), "alpha upgrade");
        await ScheduleAsync(app, Beta, At(12, 5, 0, 30), At(12, 6, 0, 30), "beta upgrade");
        await WaitAsync(app);
    }

    public static async Task PostMessagesAsync(RunningApp app, IEnumerable<string> messages)
    {
        using var content = new StringContent("[" + string.Join(",", messages) + "]", Encoding.UTF8, "application/json");
        var response = await app.Client.PostAsync("/api/ingest", content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    public static async Task<string> ScheduleAsync(RunningApp app, string service, DateTimeOffset start, DateTimeOffset end, string reason)
    {
        var response = await app.Client.PostAsJsonAsync("/api/maintenance", new { service, start = Iso(start), end = Iso(end), reason });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, body);
        return System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    public static Task WaitAsync(RunningApp app) =>
        app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

    public static string Iso(DateTimeOffset instant) => instant.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The contract of the tests: both services, UTC, the issue's targets and credits.</summary>
    public object Contract(string measure = "combined", bool excludeRequests = true, string? effectiveFrom = null, double uptime = 99.9) => new
    {
        services = new[] { Alpha, Beta },
        customerId = (string?)null,
        timeZone = "UTC",
        measure,
        effectiveFrom = effectiveFrom ?? Month,
        targets = new Dictionary<string, double> { ["uptime"] = uptime, ["availability"] = 99.5, ["latency_p99"] = 300 },
        maintenance = new { excludeDowntime = true, excludeRequests },
        credits = new[] { new { below = 99.9, percent = 10.0 }, new { below = 99.0, percent = 25.0 }, new { below = 95.0, percent = 100.0 } },
        creditMetric = "uptime",
    };

    /// <summary>
    /// Issues the statement at <paramref name="url"/> (…/statements/{month}) and fetches it as issued: the SHA-256 the issue
    /// recorded, and the document's bytes, which must hash to it.
    /// </summary>
    public static async Task<(string Sha256, byte[] Document)> IssueAsync(RunningApp app, string url)
    {
        var issue = await app.Client.PostAsync(url + "/issue", null);
        var reply = System.Text.Json.JsonDocument.Parse(await issue.Content.ReadAsStringAsync()).RootElement;
        issue.StatusCode.ShouldBe(HttpStatusCode.Created, reply.ToString());
        var sha = reply.GetProperty("sha256").GetString()!;
        var document = await app.Client.GetByteArrayAsync(url + "?asIssued=true");
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(document)).ShouldBe(sha);
        return (sha, document);
    }

    public static async Task PutContractAsync(RunningApp app, string customer, object contract)
    {
        var response = await app.Client.PutAsJsonAsync($"/api/contracts/{customer}", contract);
        response.StatusCode.ShouldBe(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }
}
