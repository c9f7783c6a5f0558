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
    private static readonly string[] Endpoints = ["GET /cart", "POST /pay", "GET /items"];

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

    public static MonthOfTelemetry PreviousMonth(string service, string timeZone, int requests = 36_000, int seed = 11)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        var localNow = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone);
        var firstLocal = new DateTime(localNow.Year, localNow.Month, 1, 0, 0, 0, DateTimeKind.Unspecified).AddMonths(-1);
        DateTimeOffset Utc(DateTime local) => new(TimeZoneInfo.ConvertTimeToUtc(local, zone), TimeSpan.Zero);
        var data = new MonthOfTelemetry(service, timeZone, firstLocal.ToString("yyyy-MM", CultureInfo.InvariantCulture), Utc(firstLocal), Utc(firstLocal.AddMonths(1)));

        var random = new Random(seed);
        var spanSeconds = (long)(data.To - data.From).TotalSeconds;
        while (data.Requests < requests)
        {
            var at = data.From.AddSeconds(random.NextInt64(spanSeconds)).AddMilliseconds(random.Next(1000));
            var local = TimeZoneInfo.ConvertTime(at, zone);
            // Daily wave: busiest mid-afternoon, a third of that at night.
            var wave = 0.35 + (0.65 * (1 + Math.Sin(2 * Math.PI * (local.TimeOfDay.TotalHours - 9) / 24)) / 2);
            if (random.NextDouble() > wave)
            {
                continue;
            }
            var endpoint = Endpoints[random.Next(Endpoints.Length)];
            var latency = (endpoint == "POST /pay" ? 70.0 : 40.0) * Math.Exp(0.55 * random.Gaussian());
            if (local.Day is 12 or 13 && local.Hour is >= 14 and < 18)
            {
                latency *= 3.2; // a slow afternoon
            }
            var errorChance = local.Day == 20 && local.Hour == 10 ? 0.08 : 0.0004; // an error burst
            var failed = random.NextDouble() < errorChance;
            data.Messages.Add(Text(TelemetryWriter.Request(service, endpoint, Distributions.WireMilliseconds(Math.Min(latency, 60_000)), failed ? 503 : 200, at)));
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
