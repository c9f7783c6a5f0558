namespace MaestroSla.Api.Alerts;

/// <summary>
/// Fires when the error budget burns at least <see cref="BurnRate"/> times the sustainable rate over both windows.
/// The long window makes the alert significant, the short one makes it reset quickly once the errors stop.
/// </summary>
/// <remarks><see cref="Name"/> is stored in alert events: never change a shipped rule's name.</remarks>
public sealed record BurnRateRule(string Name, AlertSeverity Severity, decimal BurnRate, TimeSpan LongWindow, TimeSpan ShortWindow);

/// <summary>Requests and errors of one service over one window.</summary>
public readonly record struct WindowCounts(long Requests, long Errors);

/// <summary>What one rule said about one service at one instant.</summary>
public sealed record RuleVerdict(BurnRateRule Rule, bool Fires, double BurnRateLong, double BurnRateShort, WindowCounts LongCounts, WindowCounts ShortCounts);

/// <summary>
/// Multiwindow, multi-burn-rate alerting for a 30-day error budget (Google SRE Workbook, "Alerting on SLOs").
/// Pure: window counts and a target in, verdicts out.
/// </summary>
public static class BurnRateRules
{
    /// <summary>
    /// The Workbook's recommended table: 2 % of a 30-day budget spent in 1 h or 5 % in 6 h pages; 10 % in 1 d or
    /// 10 % in 3 d opens a ticket. Each short window is 1/12 of its long one.
    /// </summary>
    public static IReadOnlyList<BurnRateRule> SreWorkbook { get; } =
    [
        new("page-1h", AlertSeverity.Page, 14.4m, TimeSpan.FromHours(1), TimeSpan.FromMinutes(5)),
        new("page-6h", AlertSeverity.Page, 6m, TimeSpan.FromHours(6), TimeSpan.FromMinutes(30)),
        new("ticket-1d", AlertSeverity.Ticket, 3m, TimeSpan.FromDays(1), TimeSpan.FromHours(2)),
        new("ticket-3d", AlertSeverity.Ticket, 1m, TimeSpan.FromDays(3), TimeSpan.FromHours(6)),
    ];

    /// <summary>Every window the rules need, each once.</summary>
    public static IReadOnlyList<TimeSpan> WindowsOf(IReadOnlyList<BurnRateRule> rules)
    {
        var windows = new List<TimeSpan>(rules.Count * 2);
        foreach (var rule in rules)
        {
            if (!windows.Contains(rule.LongWindow))
            {
                windows.Add(rule.LongWindow);
            }
            if (!windows.Contains(rule.ShortWindow))
            {
                windows.Add(rule.ShortWindow);
            }
        }
        return windows;
    }

    /// <param name="counts">Requests and errors per window; a missing window counts as no traffic.</param>
    /// <param name="availabilityPercent">
    /// The SLO, e.g. 99.95, in (0, 100]. A 100 % target leaves no budget: any error fires every rule whose traffic
    /// guard is met.
    /// </param>
    /// <param name="minimumRequests">
    /// A rule fires only when its long window holds at least this many requests: with little traffic one failed
    /// request is a large error ratio (1 error in 20 requests burns a 99.95 % budget 100 times over), which would
    /// page on noise rather than on a real loss of budget.
    /// </param>
    public static List<RuleVerdict> Evaluate(
        IReadOnlyList<BurnRateRule> rules, IReadOnlyDictionary<TimeSpan, WindowCounts> counts, decimal availabilityPercent, long minimumRequests)
    {
        if (availabilityPercent is <= 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(availabilityPercent), availabilityPercent, "An availability target lies in (0, 100] %");
        }

        var verdicts = new List<RuleVerdict>(rules.Count);
        foreach (var rule in rules)
        {
            var longCounts = counts.GetValueOrDefault(rule.LongWindow);
            var shortCounts = counts.GetValueOrDefault(rule.ShortWindow);
            var fires = longCounts.Requests >= minimumRequests
                && BurnsAtLeast(longCounts, rule.BurnRate, availabilityPercent)
                && BurnsAtLeast(shortCounts, rule.BurnRate, availabilityPercent);
            verdicts.Add(new RuleVerdict(
                rule, fires, BurnRate(longCounts, availabilityPercent), BurnRate(shortCounts, availabilityPercent), longCounts, shortCounts));
        }
        return verdicts;
    }

    /// <summary>
    /// Error ratio / error budget; 0 without errors. Without a budget (a 100 % target) any error burns at an
    /// unbounded rate, given as <see cref="double.MaxValue"/> because the events and the API speak JSON, which
    /// has no infinity.
    /// </summary>
    public static double BurnRate(WindowCounts counts, decimal availabilityPercent)
    {
        if (counts.Errors == 0)
        {
            return 0;
        }
        var budget = (double)((100m - availabilityPercent) / 100m);
        return budget == 0 ? double.MaxValue : (double)counts.Errors / counts.Requests / budget;
    }

    /// <summary>
    /// errors / requests ≥ rate × (100 − target) / 100, multiplied out and in decimal: the thresholds and targets
    /// are decimal literals (14.4, 99.95), so a window exactly at the threshold fires, which the same
    /// comparison in binary floating point gets wrong for some of them (1 − 0.999 is not 0.001 in a double).
    /// </summary>
    public static bool BurnsAtLeast(WindowCounts counts, decimal burnRate, decimal availabilityPercent) =>
        counts.Errors > 0 && counts.Errors * 100m >= burnRate * (100m - availabilityPercent) * counts.Requests;
}
