using System.Globalization;
using System.Net;
using System.Text.Json;
using MaestroSla.Contracts.Reports;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>
/// A report fetched over the API (GET /api/reports/{service}) against the exact requests a test knows: counts equal,
/// P50–P99.9 within 0.1 % of the exact order statistics (HdrHistogram's rank rule: the nearest rank, rounded half up).
/// </summary>
public static class ExactReport
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static readonly double[] Percentiles = [50, 90, 95, 99, 99.9];

    /// <summary>Waits until the projections have caught up with everything stored, then asks for the report.</summary>
    public static async Task<SlaReport> GetAsync(
        RunningApp maestro, string service, DateTimeOffset from, DateTimeOffset to, string? endpoint = null, string? customer = null)
    {
        await maestro.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(120));
        var url = $"/api/reports/{Uri.EscapeDataString(service)}?from={Iso(from)}&to={Iso(to)}"
            + (endpoint is null ? "" : "&endpoint=" + Uri.EscapeDataString(endpoint))
            + (customer is null ? "" : "&customer=" + Uri.EscapeDataString(customer));
        var response = await maestro.Client.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        return JsonSerializer.Deserialize<SlaReport>(body, Json)!;
    }

    public static void ShouldMatch(SlaReport report, IReadOnlyCollection<(long Micros, bool Error)> exact, string what)
    {
        report.Requests.Total.ShouldBe(exact.Count, $"{what}: requests");
        report.Requests.Errors.ShouldBe(exact.Count(r => r.Error), $"{what}: errors");
        var sorted = exact.Select(r => r.Micros).Order().ToArray();
        var reported = new[] { report.Latency.P50Ms, report.Latency.P90Ms, report.Latency.P95Ms, report.Latency.P99Ms, report.Latency.P999Ms };
        for (var i = 0; i < Percentiles.Length; i++)
        {
            var rank = Math.Max(1, (long)((Percentiles[i] / 100 * sorted.Length) + 0.5));
            var exactMs = sorted[rank - 1] / 1000.0;
            reported[i].ShouldNotBeNull($"{what}: P{Percentiles[i]}");
            reported[i]!.Value.ShouldBe(exactMs, (exactMs * 0.001) + 0.001, $"{what}: P{Percentiles[i]}");
        }
    }

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
}
