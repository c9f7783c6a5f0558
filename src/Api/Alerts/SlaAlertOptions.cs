namespace MaestroSla.Api.Alerts;

/// <summary>Sla:Alerts — how and how often burn-rate alerts are evaluated and where they are sent.</summary>
public sealed class SlaAlertOptions
{
    public const string Section = "Sla:Alerts";

    /// <summary>How often every service is evaluated; zero turns the scheduler off (evaluations can still be sent).</summary>
    public TimeSpan EvaluateEvery { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A rule fires only when its long window holds at least this many requests (see BurnRateRules.Evaluate).</summary>
    public long MinimumRequests { get; set; } = 100;

    /// <summary>Where raised and resolved alerts are POSTed as JSON; none configured, none sent.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>An evaluation is skipped while the latency rollups trail the stored events by more than this.</summary>
    public TimeSpan MaxProjectionLag { get; set; } = TimeSpan.FromSeconds(30);
}
