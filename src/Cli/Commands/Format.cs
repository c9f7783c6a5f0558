using System.Globalization;
using MaestroSla.Contracts.Reports;
using Spectre.Console;

namespace MaestroSla.Cli.Commands;

internal static class Format
{
    public static readonly string[] TableJsonCsv = ["table", "json", "csv"];
    public static readonly string[] TableJson = ["table", "json"];

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Actual values as the dashboard shows them: percentages to 4 decimals, milliseconds to 1.</summary>
    public static string Actual(double? value, string unit) =>
        value is not { } v ? "—" : unit == "%" ? v.ToString("N4", Invariant) : v.ToString("N1", Invariant);

    public static string Target(SlaMetricResult metric) => $"{Comparison(metric.Comparison)} {metric.Target.ToString("0.####", Invariant)} {metric.Unit}";

    public static string Comparison(string comparison) => comparison switch
    {
        ">=" => "≥",
        "<=" => "≤",
        _ => comparison,
    };

    public static string Number(long value) => value.ToString("N0", Invariant);

    public static string Number(double value, int decimals) => value.ToString("N" + decimals.ToString(Invariant), Invariant);

    public static string Ms(double? value) => value is { } v ? v.ToString("N1", Invariant) + " ms" : "—";

    public static string Instant(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM-dd HH:mm:ss", Invariant);

    public static string Duration(TimeSpan span)
    {
        var parts = new List<string>();
        if (span.Days > 0)
        {
            parts.Add($"{span.Days} d");
        }
        if (span.Hours > 0)
        {
            parts.Add($"{span.Hours} h");
        }
        if (span.Minutes > 0)
        {
            parts.Add($"{span.Minutes} min");
        }
        if (span.Seconds > 0 || parts.Count == 0)
        {
            parts.Add($"{span.Seconds} s");
        }
        return string.Join(' ', parts);
    }

    /// <summary>A target's or a report's status: met, breached, or no data (which is neither).</summary>
    public static Markup Result(string status, bool upper = false) => status switch
    {
        "met" => new Markup("[green]met[/]"),
        "breached" => new Markup(upper ? "[red]BREACHED[/]" : "[red]breached[/]"),
        _ => new Markup($"[yellow]{Markup.Escape(status)}[/]"),
    };

    public static string Color(string status) => status switch
    {
        "met" => "green",
        "breached" => "red",
        _ => "yellow",
    };

    public static TimeZoneInfo Zone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.Utc;
        }
    }
}
