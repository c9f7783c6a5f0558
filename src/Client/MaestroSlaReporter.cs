using MaestroSla.Client.Buffering;
using MaestroSla.Client.Recording;
using MaestroSla.Contracts.Messages;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace MaestroSla.Client;

/// <summary>
/// What an app reports besides its HTTP requests (which <c>app.UseMaestroSla()</c> records): downtime intervals, and
/// requests of work that is not ASP.NET Core's. Nothing here waits or throws for MaestroSla's sake: a call returns
/// false when the buffer is full (the message is counted as dropped). Take it from DI.
/// </summary>
public sealed class MaestroSlaReporter
{
    // MaestroSla refuses messages past these (Contract:MaxLatency, MaxAge, MaxFutureSkew at their defaults), and with
    // them the whole HTTP batch: they are checked here instead.
    private static readonly ContractLimits Limits = new();
    private static readonly long MaxLatencyMicros = (long)Limits.MaxLatency.TotalMicroseconds;

    private readonly TelemetryBuffer _buffer;
    private readonly TimeProvider _time;

    internal TimeProvider Time => _time;

    internal MaestroSlaReporter(string service, TelemetryBuffer buffer, TimeProvider time)
    {
        Service = service;
        _buffer = buffer;
        _time = time;
    }

    /// <summary>The service this app's requests are recorded under (MaestroSla:Service).</summary>
    public string Service { get; }

    /// <summary>One served request of this service that ended now (e.g. a message handled from a queue).</summary>
    /// <param name="endpoint">A template, never an id-bearing path ("consume orders", "GET /orders/{id}").</param>
    /// <param name="status">An HTTP status: 500 and above count as errors.</param>
    /// <param name="customer">The customer of a multi-tenant service it was served for (null or empty: none).</param>
    public bool RecordRequest(string endpoint, TimeSpan latency, int status, string? customer = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return Record(Names.Clean(endpoint), latency, status, Names.CleanCustomer(customer));
    }

    /// <summary>This service was down from <paramref name="start"/> to <paramref name="end"/> (e.g. a failover, a deployment).</summary>
    /// <exception cref="ArgumentException">end is not after start, or the interval lies outside what MaestroSla accepts.</exception>
    public bool ReportDowntime(DateTimeOffset start, DateTimeOffset end, string? reason = null) => ReportDowntime(Service, start, end, reason);

    /// <summary>Another service (a dependency this app watches) was down from <paramref name="start"/> to <paramref name="end"/>.</summary>
    /// <exception cref="ArgumentException">
    /// The service name is not acceptable, end is not after start, or the interval lies outside what MaestroSla accepts
    /// (ended more than 62 days ago or more than 5 minutes ahead).
    /// </exception>
    public bool ReportDowntime(string service, DateTimeOffset start, DateTimeOffset end, string? reason = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (Names.Problem(service) is { } problem)
        {
            throw new ArgumentException($"The service name {problem}", nameof(service));
        }
        if (end <= start)
        {
            throw new ArgumentException("A downtime must end after it starts", nameof(end));
        }
        var now = _time.GetUtcNow();
        if (start < now - Limits.MaxAge || end > now + Limits.MaxFutureSkew)
        {
            throw new ArgumentException(
                $"MaestroSla takes downtime from the last {Limits.MaxAge.TotalDays:0} days up to {Limits.MaxFutureSkew.TotalMinutes:0} minutes ahead", nameof(start));
        }
        if (reason is { Length: > TelemetryDecoder.MaxReasonLength })
        {
            reason = reason[..TelemetryDecoder.MaxReasonLength];
        }
        return _buffer.TryAdd(PendingTelemetry.Message(service, TelemetryWriter.Downtime(service, start, end, reason)));
    }

    /// <summary>This service is down from now until the returned scope is disposed, which reports the interval.</summary>
    public DowntimeScope BeginDowntime(string? reason = null) => new(this, _time.GetUtcNow(), reason);

    internal bool RecordServed(string endpoint, TimeSpan latency, int status, string? customer) => Record(endpoint, latency, status, customer);

    internal bool ReportHealth(string component, HealthStatus status, TimeSpan duration)
    {
        var state = status switch
        {
            HealthStatus.Healthy => HealthState.Healthy,
            HealthStatus.Degraded => HealthState.Degraded,
            _ => HealthState.Unhealthy,
        };
        var message = TelemetryWriter.Health(Service, Names.Clean(component), state, Math.Round(duration.TotalMilliseconds, 3), _time.GetUtcNow());
        return _buffer.TryAdd(PendingTelemetry.Message(Service, message));
    }

    private bool Record(string endpoint, TimeSpan latency, int status, string? customer)
    {
        // Whole microseconds, rounded: what MaestroSla keeps.
        var micros = Math.Max(0, (latency.Ticks + 5) / 10);
        if (micros > MaxLatencyMicros)
        {
            _buffer.Dropped(1, MaestroSlaMetrics.Reasons.OverLatencyLimit);
            return false;
        }
        return _buffer.TryAdd(PendingTelemetry.Request(Service, endpoint, micros, status, _time.GetUtcNow(), customer));
    }
}
