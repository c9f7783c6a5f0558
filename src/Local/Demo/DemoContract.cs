using System.Globalization;
using MaestroSla.Sla.CustomerContracts;
using Marten;

namespace MaestroSla.Local.Demo;

/// <summary>
/// The demo's customer: "acme" signed one contract over checkout and payments, measured combined in Berlin time, with
/// maintenance left out of uptime and requests and a service-credit schedule on uptime. Recorded once per demo
/// database, in force from the demo's month.
/// </summary>
public static class DemoContract
{
    public const string Customer = "acme";

    public static async Task RecordAsync(IDocumentStore store, DateTimeOffset monthStart, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var stream = CustomerContractStreams.For(Customer);
        if ((await session.Events.FetchStreamStateAsync(stream, ct)) is not null)
        {
            return;
        }
        var terms = new ContractTerms
        {
            Services = ["checkout", "payments"],
            TimeZone = "Europe/Berlin",
            Measure = ContractTerms.Combined,
            EffectiveFrom = monthStart.ToString("yyyy-MM", CultureInfo.InvariantCulture),
            Targets = new ContractTargets { UptimePercent = 99.9, AvailabilityPercent = 99.5, LatencyP99Ms = 300 },
            Maintenance = new ContractMaintenance { ExcludeDowntime = true, ExcludeRequests = true },
            Credits =
            [
                new CreditTier { Below = 99.9, Percent = 10 },
                new CreditTier { Below = 99.0, Percent = 25 },
                new CreditTier { Below = 95.0, Percent = 100 },
            ],
            CreditMetric = ContractTargets.Uptime,
        };
        session.Events.Append(stream, new ContractVersioned(Customer, 1, terms, "demo", "demo"));
        await session.SaveChangesAsync(ct);
    }
}
