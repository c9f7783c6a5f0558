namespace MaestroSla.Client;

/// <summary>An open downtime of the app's service; Dispose reports it as ending then.</summary>
public sealed class DowntimeScope : IDisposable
{
    private readonly MaestroSlaReporter _reporter;
    private readonly string? _reason;
    private int _ended;

    internal DowntimeScope(MaestroSlaReporter reporter, DateTimeOffset start, string? reason)
    {
        _reporter = reporter;
        Start = start;
        _reason = reason;
    }

    public DateTimeOffset Start { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _ended, 1) == 0)
        {
            var end = _reporter.Time.GetUtcNow();
            // Down for less than a clock tick is still down: MaestroSla needs end after start.
            _reporter.ReportDowntime(Start, end > Start ? end : Start.AddTicks(1), _reason);
        }
    }
}
