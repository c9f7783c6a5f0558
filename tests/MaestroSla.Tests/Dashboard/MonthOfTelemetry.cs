using System.Globalization;
using System.Net;
using System.Text;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using MaestroSla.Contracts.Messages;
using MaestroSla.Local.Traffic;
using Shouldly;

namespace MaestroSla.Tests.Dashboard;

/// <summary>
/// A demo-like calendar month of one service (the previous month in a zone, so inside the contract's 62 days):
/// a daily traffic wave, a slow afternoon, an error burst, overlapping downtime reports and a health-check
/// outage — enough for every chart of the dashboard to have something to show.
/// </summary>
public sealed class MonthOfTelemetry
{
    private static readonly TrafficEndpoint[] Endpoints = [new("GET /cart", 40), new("POST /pay", 70), new("GET /items", 40)];

    private MonthOfTelemetry(string service, string timeZone, string month, DateTimeOffset from, DateTimeOffset to)
    {
        Service = service;
        TimeZone = timeZone;
        Month = month;
        From = from;
        To = to;
    }

    public string Service { get; }
    public string TimeZone { get; }

    /// <summary>yyyy-MM of the month the data covers.</summary>
    public string Month { get; }

    public DateTimeOffset From { get; }
    public DateTimeOffset To { get; }
    public List<string> Messages { get; } = [];
    public int Requests { get; private set; }

    /// <summary>How many of the requests named each customer (none unless customers were given).</summary>
    public Dictionary<string, int> RequestsByCustomer { get; } = new(StringComparer.Ordinal);

    /// <param name="customers">
    /// When given, the requests name these customers in turn, one in every (count + 1) naming none, so the service's
    /// figures stay those of the same traffic without customers.
    /// </param>
    public static MonthOfTelemetry PreviousMonth(string service, string timeZone, int requests = 36_000, int seed = 11, string[]? customers = null)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        var localNow = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone);
        var firstLocal = new DateTime(localNow.Year, localNow.Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddMonths(-1);
        DateTimeOffset Utc(DateTime local) => new(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero);
        var data = new MonthOfTelemetry(service, timeZone, firstLocal.ToString("yyyy-MM", CultureInfo.InvariantCulture), Utc(firstLocal), Utc(firstLocal.AddMonths(1)));

        DateTime Local(DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, zone).DateTime;
        var shape = new TrafficShape([new TrafficService(service, Endpoints, ErrorRate: 0.0004)], seed)
        {
            LatencySigma = 0.55,
            MaxLatencyMs = 60_000,
            // Daily wave: busiest mid-afternoon, a third of that at night.
            Load = at => 0.35 + (0.65 * (1 + Math.Sin(2 * Math.PI * (Local(at).TimeOfDay.TotalHours - 9) / 24)) / 2),
            Conditions = (_, at) => Local(at) switch
            {
                { Day: 12 or 13, Hour: >= 14 and < 18 } => new(Slowdown: 3.2, ErrorRate: null), // a slow afternoon
                { Day: 20, Hour: 10 } => new(Slowdown: 1, ErrorRate: 0.08), // an error burst
                _ => TrafficConditions.Normal,
            },
        };
        foreach (var generated in new TrafficGenerator(shape).Requests(requests, data.From, data.To))
        {
            var request = generated;
            if (customers is { Length: > 0 } && data.Requests % (customers.Length + 1) is var turn && turn < customers.Length)
            {
                request = request with { Customer = customers[turn] };
                data.RequestsByCustomer[customers[turn]] = data.RequestsByCustomer.GetValueOrDefault(customers[turn]) + 1;
            }
            data.Messages.Add(Text(TrafficGenerator.Encode(request)));
            data.Requests++;
        }

        DateTimeOffset Day(int day, int hour, int minute) => Utc(firstLocal.AddDays(day - 1).AddHours(hour).AddMinutes(minute));
        data.Downtime(Day(2, 3, 17), Day(2, 3, 26), "deployment");
        data.Downtime(Day(2, 3, 20), Day(2, 3, 31), "synthetic probe"); // overlaps the deployment
        data.Downtime(Day(9, 14, 5), Day(9, 14, 29), "db failover");
        data.Downtime(Day(23, 22, 40), Day(23, 22, 43), "network");
        // Health checks every minute for an hour on the 16th: the cache fails four in a row (down 4 minutes).
        for (var minute = 0; minute < 60; minute++)
        {
            var status = minute is >= 20 and < 24 ? "unhealthy" : "healthy";
            data.Messages.Add(Text(TelemetryWriter.Health(service, "cache", status, 1.5, Day(16, 8, minute))));
        }
        return data;
    }

    /// <summary>Posts everything through /api/ingest and waits until the projections have caught up.</summary>
    public async Task PostAsync(Tests.Infrastructure.RunningApp app)
    {
        foreach (var chunk in Messages.Chunk(6_000))
        {
            using var content = new StringContent("[" + string.Join(",", chunk) + "]", Encoding.UTF8, "application/json");
            using var response = await app.Client.PostAsync("/api/ingest", content);
            response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(120));
    }

    private void Downtime(DateTimeOffset start, DateTimeOffset end, string reason) =>
        Messages.Add(Text(TelemetryWriter.Downtime(Service, start, end, reason)));

    private static string Text(byte[] message) => Encoding.UTF8.GetString(message);
}
