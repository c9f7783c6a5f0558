using HdrHistogram;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Storage;

namespace MaestroSla.Ingest.Batching;

/// <summary>
/// Everything accepted since the last flush: request metrics folded into one HDR histogram per
/// (service, endpoint, UTC minute), downtime and health results as they came, and dead letters.
/// Not thread-safe: one batch belongs to one consumer loop or one HTTP request.
/// </summary>
public sealed class IngestBatch
{
    // One event carries at most this many minutes, which bounds event size when a backfill spans days.
    private const int MaxMinutesPerEvent = 240;

    private readonly Dictionary<MinuteKey, MinuteWindow> _windows = [];
    private readonly Stack<IntHistogram> _recyclableHistograms = new();

    public List<DowntimeInterval> Downtimes { get; } = [];
    public List<HealthResult> HealthResults { get; } = [];
    public List<DeadLetter> DeadLetters { get; } = [];

    /// <summary>Messages taken in (valid or not) since the last <see cref="Clear"/>.</summary>
    public int MessageCount { get; private set; }

    public long RequestCount { get; private set; }

    public bool IsEmpty => MessageCount == 0;

    public void Add(in DecodedMessage message)
    {
        MessageCount++;
        switch (message.Kind)
        {
            case MessageKind.Request:
                AddRequest(message.Request);
                break;
            case MessageKind.Downtime:
                Downtimes.Add(message.Downtime!);
                break;
            case MessageKind.Health:
                HealthResults.Add(message.Health!);
                break;
        }
    }

    public void AddDeadLetter(DeadLetter deadLetter)
    {
        MessageCount++;
        DeadLetters.Add(deadLetter);
    }

    private void AddRequest(in RequestMetric request)
    {
        var key = new MinuteKey(request.Service, request.Endpoint, request.Timestamp.UtcTicks / TimeSpan.TicksPerMinute);
        if (!_windows.TryGetValue(key, out var window))
        {
            window = new MinuteWindow(_recyclableHistograms.TryPop(out var recycled) ? recycled : LatencyHistograms.CreateRecorder());
            _windows.Add(key, window);
        }
        window.Histogram.RecordValue(request.LatencyMicros);
        window.Requests++;
        if (request.IsError)
        {
            window.Errors++;
        }
        RequestCount++;
    }

    /// <summary>The events this batch stands for, grouped by stream (service).</summary>
    public Dictionary<string, List<object>> ToEventsByService()
    {
        var byService = new Dictionary<string, List<object>>();

        var minutesByEndpoint = new Dictionary<(string Service, string Endpoint), List<MinuteOfRequests>>();
        foreach (var (key, window) in _windows)
        {
            if (!minutesByEndpoint.TryGetValue((key.Service, key.Endpoint), out var minutes))
            {
                minutes = [];
                minutesByEndpoint.Add((key.Service, key.Endpoint), minutes);
            }
            minutes.Add(new MinuteOfRequests(
                new DateTimeOffset(key.MinuteNumber * TimeSpan.TicksPerMinute, TimeSpan.Zero),
                window.Requests,
                window.Errors,
                LatencyHistograms.Encode(window.Histogram)));
        }

        foreach (var ((service, endpoint), minutes) in minutesByEndpoint)
        {
            minutes.Sort(static (a, b) => a.Minute.CompareTo(b.Minute));
            for (var start = 0; start < minutes.Count; start += MaxMinutesPerEvent)
            {
                var chunk = minutes.GetRange(start, Math.Min(MaxMinutesPerEvent, minutes.Count - start));
                EventsOf(byService, service).Add(new RequestsRecorded(service, endpoint, chunk));
            }
        }
        foreach (var downtime in Downtimes)
        {
            EventsOf(byService, downtime.Service).Add(new DowntimeRecorded(downtime.Service, downtime.Start, downtime.End, downtime.Reason));
        }
        foreach (var health in HealthResults)
        {
            EventsOf(byService, health.Service).Add(new HealthChecked(health.Service, health.Component, health.Status, health.LatencyMs, health.Timestamp));
        }
        return byService;
    }

    private static List<object> EventsOf(Dictionary<string, List<object>> byService, string service)
    {
        if (!byService.TryGetValue(service, out var events))
        {
            events = [];
            byService.Add(service, events);
        }
        return events;
    }

    public void Clear()
    {
        foreach (var window in _windows.Values)
        {
            window.Histogram.Reset();
            _recyclableHistograms.Push(window.Histogram);
        }
        _windows.Clear();
        Downtimes.Clear();
        HealthResults.Clear();
        DeadLetters.Clear();
        MessageCount = 0;
        RequestCount = 0;
    }

    private readonly record struct MinuteKey(string Service, string Endpoint, long MinuteNumber);

    private sealed class MinuteWindow(IntHistogram histogram)
    {
        public IntHistogram Histogram { get; } = histogram;
        public long Requests { get; set; }
        public long Errors { get; set; }
    }
}
