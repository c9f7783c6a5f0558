using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using MaestroSla.Contracts.Messages;
using MaestroSla.Ingest.Storage;

namespace MaestroSla.Ingest.Batching;

/// <summary>
/// Everything accepted since the last flush: request metrics grouped per (service, endpoint, UTC minute) and, for
/// those that name a customer, once more per (service, customer, UTC minute), each group encoded as one HDR histogram
/// when the batch becomes events; downtime and health results as they came, and dead letters. The Kafka consumer
/// keeps the minutes that are still open in memory and hands them from batch to batch (<see cref="MoveMinutesTo"/>),
/// so a series' minute becomes one event however often the consumer flushes.
/// Not thread-safe: one batch belongs to one consumer loop or one HTTP request.
/// </summary>
public sealed class IngestBatch(SeriesCatalog? catalog = null)
{
    // One event carries at most this many minutes, which bounds event size when a backfill spans days.
    private const int MaxMinutesPerEvent = 240;

    private readonly Dictionary<MinuteKey, MinuteWindow> _windows = [];
    // The same requests once more per customer, for those that name one; keyed by the customer in place of the endpoint.
    private readonly Dictionary<MinuteKey, MinuteWindow> _customerWindows = [];
    // A series' open minute keeps its latest requests raw (4 bytes each) and folds them into one encoded histogram
    // every FoldAt requests, so an open minute costs at most 2 KB raw plus one encoding however busy it is: the
    // consumer holds every series' open minutes, and at 10,000 series that is what bounds its memory. One scratch
    // histogram does all the encoding (a full HDR histogram is ~190 KB: one per series would not fit).
    private const int FoldAt = 512;
    private readonly LatencyHistogram _scratch = new();

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

    /// <summary>The UTC minute a request falls in, as a number of minutes since 0001-01-01.</summary>
    public static long MinuteOf(DateTimeOffset timestamp) => timestamp.UtcTicks / TimeSpan.TicksPerMinute;

    private void AddRequest(in RequestMetric request)
    {
        var minute = MinuteOf(request.Timestamp);
        Record(WindowOf(_windows, request.Service, request.Endpoint, minute, catalog?.Endpoints), request);
        RequestCount++;
        if (request.Customer is { } customer)
        {
            Record(WindowOf(_customerWindows, request.Service, customer, minute, catalog?.Customers), request);
        }
    }

    private static MinuteWindow WindowOf(Dictionary<MinuteKey, MinuteWindow> windows, string service, string name, long minute, SeriesLimit? limit)
    {
        var key = new MinuteKey(service, name, minute);
        if (!windows.TryGetValue(key, out var window))
        {
            // The limit is asked only when a batch first sees a series' minute, not for every request.
            var admitted = limit?.Admit(service, name) ?? name;
            if (!ReferenceEquals(admitted, name))
            {
                key = key with { Name = admitted };
            }
            if (!windows.TryGetValue(key, out window))
            {
                window = new MinuteWindow();
                windows.Add(key, window);
            }
        }
        return window;
    }

    private void Record(MinuteWindow window, in RequestMetric request)
    {
        // Latencies are validated to at most one hour (3.6e9 µs), which fits an unsigned 32-bit number.
        window.Raw.Add((uint)request.LatencyMicros);
        if (request.IsError)
        {
            window.Errors++;
        }
        if (window.Raw.Count >= FoldAt)
        {
            Fold(window);
        }
    }

    /// <summary>Records the window's raw latencies into its encoded histogram (merged with what was folded before).</summary>
    private void Fold(MinuteWindow window)
    {
        LoadScratch(window);
        window.Folded = _scratch.Encode();
        window.FoldedRequests += window.Raw.Count;
        window.Raw.Clear();
    }

    /// <summary>The scratch histogram holds exactly the window's requests afterwards.</summary>
    private void LoadScratch(MinuteWindow window)
    {
        _scratch.Clear();
        if (window.Folded is not null)
        {
            _scratch.AddEncoded(window.Folded);
        }
        foreach (var latency in window.Raw)
        {
            _scratch.Record(latency);
        }
    }

    /// <summary>Adds <paramref name="other"/>'s requests to <paramref name="window"/>, folding so both stay bounded.</summary>
    private void Absorb(MinuteWindow window, MinuteWindow other)
    {
        if (other.Folded is not null)
        {
            if (window.Folded is null)
            {
                // Encodings are never written to once made, so they can be shared.
                window.Folded = other.Folded;
            }
            else
            {
                _scratch.Clear();
                _scratch.AddEncoded(window.Folded);
                _scratch.AddEncoded(other.Folded);
                window.Folded = _scratch.Encode();
            }
            window.FoldedRequests += other.FoldedRequests;
        }
        window.Raw.AddRange(other.Raw);
        window.Errors += other.Errors;
        if (window.Raw.Count >= FoldAt)
        {
            Fold(window);
        }
    }

    /// <summary>Whether anything is to be stored besides open minutes moved on (see <see cref="MoveMinutesTo"/>).</summary>
    public bool HasEvents => _windows.Count > 0 || _customerWindows.Count > 0 || Downtimes.Count > 0 || HealthResults.Count > 0;

    /// <summary>Every (service, endpoint) the batch's events are about; endpoint "*" for each service.</summary>
    public HashSet<(string Service, string Endpoint)> Series()
    {
        var series = new HashSet<(string, string)>();
        foreach (var key in _windows.Keys)
        {
            series.Add((key.Service, key.Name));
            series.Add((key.Service, SeriesCatalogTable.ServiceRow));
        }
        foreach (var downtime in Downtimes)
        {
            series.Add((downtime.Service, SeriesCatalogTable.ServiceRow));
        }
        foreach (var health in HealthResults)
        {
            series.Add((health.Service, SeriesCatalogTable.ServiceRow));
        }
        return series;
    }

    /// <summary>Every (service, customer) the batch's customer events are about.</summary>
    public HashSet<(string Service, string Customer)> Customers()
    {
        var customers = new HashSet<(string, string)>();
        foreach (var key in _customerWindows.Keys)
        {
            customers.Add((key.Service, key.Name));
        }
        return customers;
    }

    /// <summary>
    /// Moves the requests of minutes at or after <paramref name="fromMinute"/> (see <see cref="MinuteOf"/>) into
    /// <paramref name="target"/>, which holds none of those minutes' series yet: they stay open in memory while this
    /// batch is stored.
    /// </summary>
    public void MoveMinutesTo(IngestBatch target, long fromMinute)
    {
        var requests = MoveWindows(_windows, target, target._windows, fromMinute);
        target.RequestCount += requests;
        RequestCount -= requests;
        // The same requests once more, already counted.
        MoveWindows(_customerWindows, target, target._customerWindows, fromMinute);
    }

    /// <summary>Moves the windows of minutes at or after <paramref name="fromMinute"/>; returns how many requests they held.</summary>
    private static long MoveWindows(
        Dictionary<MinuteKey, MinuteWindow> windows, IngestBatch target, Dictionary<MinuteKey, MinuteWindow> targetWindows, long fromMinute)
    {
        List<MinuteKey>? moved = null;
        long requests = 0;
        foreach (var (key, window) in windows)
        {
            if (key.MinuteNumber < fromMinute)
            {
                continue;
            }
            requests += window.Requests;
            if (targetWindows.TryGetValue(key, out var existing))
            {
                target.Absorb(existing, window);
            }
            else
            {
                targetWindows.Add(key, window);
            }
            (moved ??= []).Add(key);
        }
        foreach (var key in moved ?? [])
        {
            windows.Remove(key);
        }
        return requests;
    }

    /// <summary>Adds another batch's requests, downtime and health results to this one (HTTP group commits).</summary>
    public void MergeFrom(IngestBatch other)
    {
        MergeWindows(_windows, other._windows);
        MergeWindows(_customerWindows, other._customerWindows);
        Downtimes.AddRange(other.Downtimes);
        HealthResults.AddRange(other.HealthResults);
        DeadLetters.AddRange(other.DeadLetters);
        MessageCount += other.MessageCount;
        RequestCount += other.RequestCount;
    }

    private void MergeWindows(Dictionary<MinuteKey, MinuteWindow> windows, Dictionary<MinuteKey, MinuteWindow> others)
    {
        foreach (var (key, window) in others)
        {
            // Copied, not taken over: the other batch stays as it was (its request may be answered apart).
            if (!windows.TryGetValue(key, out var existing))
            {
                existing = new MinuteWindow();
                windows.Add(key, existing);
            }
            Absorb(existing, window);
        }
    }

    /// <summary>The events this batch stands for, grouped by service.</summary>
    public Dictionary<string, List<object>> ToEventsByService()
    {
        var byService = new Dictionary<string, List<object>>();
        AddMinuteEvents(byService, _windows, static (service, endpoint, minutes) => new RequestsRecorded(service, endpoint, minutes));
        AddMinuteEvents(byService, _customerWindows, static (service, customer, minutes) => new CustomerRequestsRecorded(service, customer, minutes));
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

    /// <summary>One event per (service, name) and up to <see cref="MaxMinutesPerEvent"/> of its minutes, in minute order.</summary>
    private void AddMinuteEvents(
        Dictionary<string, List<object>> byService, Dictionary<MinuteKey, MinuteWindow> windows,
        Func<string, string, List<MinuteOfRequests>, object> toEvent)
    {
        var minutesByName = new Dictionary<(string Service, string Name), List<MinuteOfRequests>>();
        foreach (var (key, window) in windows)
        {
            if (!minutesByName.TryGetValue((key.Service, key.Name), out var minutes))
            {
                minutes = [];
                minutesByName.Add((key.Service, key.Name), minutes);
            }
            LoadScratch(window);
            minutes.Add(new MinuteOfRequests(
                new DateTimeOffset(key.MinuteNumber * TimeSpan.TicksPerMinute, TimeSpan.Zero),
                window.Requests,
                window.Errors,
                _scratch.Encode()));
        }

        foreach (var ((service, name), minutes) in minutesByName)
        {
            minutes.Sort(static (a, b) => a.Minute.CompareTo(b.Minute));
            for (var start = 0; start < minutes.Count; start += MaxMinutesPerEvent)
            {
                var chunk = minutes.GetRange(start, Math.Min(MaxMinutesPerEvent, minutes.Count - start));
                EventsOf(byService, service).Add(toEvent(service, name, chunk));
            }
        }
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
        _windows.Clear();
        _customerWindows.Clear();
        Downtimes.Clear();
        HealthResults.Clear();
        DeadLetters.Clear();
        MessageCount = 0;
        RequestCount = 0;
    }

    /// <param name="Name">The endpoint, or the customer among the customer windows.</param>
    private readonly record struct MinuteKey(string Service, string Name, long MinuteNumber);

    private sealed class MinuteWindow
    {
        public List<uint> Raw { get; } = [];
        public byte[]? Folded { get; set; }
        public long FoldedRequests { get; set; }
        public long Errors { get; set; }

        public long Requests => Raw.Count + FoldedRequests;
    }
}
