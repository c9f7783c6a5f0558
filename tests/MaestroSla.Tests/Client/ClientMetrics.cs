using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using MaestroSla.Client;
using Microsoft.Extensions.DependencyInjection;

namespace MaestroSla.Tests.Client;

/// <summary>
/// The client's counters as a metrics exporter sees them (a MeterListener), for one app only: several apps of a test
/// run in one process, each with its own meter factory.
/// </summary>
public sealed class ClientMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public ClientMetrics(IServiceProvider app)
    {
        var scope = app.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MaestroSlaMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                if (tag.Key == MaestroSlaMetrics.ReasonTag)
                {
                    key += "/" + tag.Value;
                }
            }
            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public long Recorded => Total(MaestroSlaMetrics.Recorded);
    public long Sent => Total(MaestroSlaMetrics.Sent);

    public long Dropped(string reason) => Total(MaestroSlaMetrics.Dropped + "/" + reason);

    public long DroppedInAll => _totals.Where(t => t.Key.StartsWith(MaestroSlaMetrics.Dropped + "/", StringComparison.Ordinal)).Sum(t => t.Value);

    public override string ToString() => string.Join(", ", _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));

    public void Dispose() => _listener.Dispose();

    private long Total(string key) => _totals.GetValueOrDefault(key);
}
