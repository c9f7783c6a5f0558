using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using Marten;
using JasperFx.Events.Projections;
using Marten.Events.Projections;

namespace MaestroSla.Projections.Latency;

/// <summary>
/// Folds <see cref="RequestsRecorded"/> into minute, hour and day rollups per endpoint and per service, and
/// <see cref="CustomerRequestsRecorded"/> into the same rollups per customer (see <see cref="RollupSeries"/>).
/// It works on the daemon's whole page of events at once and folds bottom-up: each minute's histogram is decoded
/// into its series' hour and (an endpoint's) into its service's minute, and hours, days and service-wide rollups are
/// built from those folds, so every rollup a page touches is loaded and written once. Time comes only from the events, so a
/// rebuild gives the same documents. Each instance is one of <see cref="LatencyRollupShards"/>: it folds only the
/// services that hash to its index and passes over the others' events.
/// </summary>
public sealed class LatencyRollupProjection : ProjectionBase, IProjection
{
    private readonly LatencyRollupShards _shards;

    public LatencyRollupProjection(int index, LatencyRollupShards shards)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, shards.Count);
        Index = index;
        _shards = shards;
        // The daemon then reads only these events: a rebuild skips the health checks instead of deserialising them.
        IncludeType<RequestsRecorded>();
        IncludeType<CustomerRequestsRecorded>();
    }

    public int Index { get; }

    public string ProjectionName => LatencyRollupShards.NameOf(Index);

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var seriesHours = CollectSeriesHours(events, Index, _shards);
        if (seriesHours.Count == 0)
        {
            return;
        }

        var accumulator = new LatencyHistogram();
        var minuteChanges = new Dictionary<SeriesHour, Change?[]>();
        var hourChanges = new Dictionary<SeriesHour, Change>();
        var serviceHours = new Dictionary<SeriesHour, HourOfMinutes>();
        foreach (var (key, hour) in seriesHours)
        {
            var (minutes, total) = hour.Fold(accumulator);
            minuteChanges[key] = minutes;
            hourChanges[key] = total;
            if (RollupSeries.IsCustomer(key.Series))
            {
                // The same requests arrive in their endpoints' events: the service's figures come from those alone.
                continue;
            }
            var service = Of(serviceHours, key with { Series = LatencyRollup.AllEndpoints });
            for (var index = 0; index < MinuteRollups.MinutesPerHour; index++)
            {
                if (minutes[index] is { } minute)
                {
                    service.Add(index, minute.Requests, minute.Errors, minute.Latency, sequence: null);
                }
            }
        }
        foreach (var (key, hour) in serviceHours)
        {
            var (minutes, total) = hour.Fold(accumulator);
            minuteChanges[key] = minutes;
            hourChanges[key] = total;
        }
        var dayChanges = new Dictionary<SeriesHour, List<Change>>();
        foreach (var (key, hour) in hourChanges)
        {
            var day = key with { Hour = LatencyRollup.StartOf(RollupGrain.Day, key.Hour) };
            if (!dayChanges.TryGetValue(day, out var hours))
            {
                hours = [];
                dayChanges.Add(day, hours);
            }
            hours.Add(hour);
        }

        var dayTotals = dayChanges.ToDictionary(d => d.Key, d => Change.Merge(d.Value, accumulator));
        var monthChanges = new Dictionary<SeriesHour, List<Change>>();
        foreach (var (key, day) in dayTotals)
        {
            if (LatencyRollup.HasMonths(key.Series))
            {
                var month = key with { Hour = LatencyRollup.StartOf(RollupGrain.Month, key.Hour) };
                if (!monthChanges.TryGetValue(month, out var monthDays))
                {
                    monthDays = [];
                    monthChanges.Add(month, monthDays);
                }
                monthDays.Add(day);
            }
        }

        var rollupIds = hourChanges.Keys.Select(k => k.RollupId(RollupGrain.Hour))
            .Concat(dayChanges.Keys.Select(k => k.RollupId(RollupGrain.Day)))
            .Concat(monthChanges.Keys.Select(k => k.RollupId(RollupGrain.Month)))
            .ToArray();
        var batch = operations.CreateBatchQuery();
        var rollupsLoaded = batch.LoadMany<LatencyRollup>().ById(rollupIds);
        var minutesLoaded = batch.LoadMany<MinuteRollups>().ById(minuteChanges.Keys.Select(k => k.MinutesId).ToArray());
        await batch.Execute(cancellation);
        var rollups = (await rollupsLoaded).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var storedMinutes = (await minutesLoaded).ToDictionary(m => m.Id, StringComparer.Ordinal);

        foreach (var (key, change) in hourChanges)
        {
            operations.Store(Apply(rollups, key, RollupGrain.Hour, change, accumulator));
        }
        var days = new Dictionary<string, LatencyRollup>(StringComparer.Ordinal);
        foreach (var (key, change) in dayTotals)
        {
            var day = Apply(rollups, key, RollupGrain.Day, change, accumulator);
            days.Add(day.Id, day);
            operations.Store(day);
        }
        await StoreMonthsAsync(operations, rollups, days, monthChanges, accumulator, cancellation);
        foreach (var (key, minutes) in minuteChanges)
        {
            var id = key.MinutesId;
            var document = storedMinutes.GetValueOrDefault(id)
                ?? new MinuteRollups { Id = id, Service = key.Service, Endpoint = key.Series, Hour = key.Hour };
            var seriesHour = key.Series == LatencyRollup.AllEndpoints ? null : seriesHours[key];
            for (var index = 0; index < MinuteRollups.MinutesPerHour; index++)
            {
                if (minutes[index] is { } change)
                {
                    var figures = document.Minutes[index] ??= new MinuteFigures();
                    figures.Requests += change.Requests;
                    figures.Errors += change.Errors;
                    if (seriesHour is null)
                    {
                        figures.Latency = Change.Combine(figures.Latency, change.Latency, accumulator);
                    }
                    else
                    {
                        // An endpoint's or a customer's minute histograms stay in their events (see MinuteRollups).
                        (figures.Events ??= []).AddRange(seriesHour.EventsOf(index));
                    }
                }
            }
            operations.Store(document);
        }
    }

    /// <summary>
    /// Adds the page's days to their months' rollups. A month rollup that does not exist yet is made from every day
    /// rollup of its month as stored (this page's included), not from the page alone: the first page of a month makes
    /// it from nothing, and in a store whose days were folded before months were kept, the month still comes out whole.
    /// Readers fall back to the days of a month that has no rollup (<see cref="RollupsLoading"/>).
    /// </summary>
    private static async Task StoreMonthsAsync(
        IDocumentOperations operations, Dictionary<string, LatencyRollup> stored, Dictionary<string, LatencyRollup> days,
        Dictionary<SeriesHour, List<Change>> monthChanges, LatencyHistogram accumulator, CancellationToken cancellation)
    {
        var newMonths = new List<SeriesHour>();
        foreach (var (key, changes) in monthChanges)
        {
            if (stored.ContainsKey(key.RollupId(RollupGrain.Month)))
            {
                operations.Store(Apply(stored, key, RollupGrain.Month, Change.Merge(changes, accumulator), accumulator));
            }
            else
            {
                newMonths.Add(key);
            }
        }
        if (newMonths.Count == 0)
        {
            return;
        }

        var otherDayIds = newMonths.SelectMany(DaysOf).Select(d => d.RollupId(RollupGrain.Day)).Where(id => !days.ContainsKey(id)).ToArray();
        if (otherDayIds.Length > 0)
        {
            foreach (var day in await operations.LoadManyAsync<LatencyRollup>(cancellation, otherDayIds))
            {
                days.Add(day.Id, day);
            }
        }
        foreach (var key in newMonths)
        {
            long requests = 0, errors = 0;
            var histograms = new List<byte[]>();
            foreach (var day in DaysOf(key))
            {
                if (days.GetValueOrDefault(day.RollupId(RollupGrain.Day)) is { } rollup)
                {
                    requests += rollup.Requests;
                    errors += rollup.Errors;
                    histograms.Add(rollup.Latency);
                }
            }
            // Not in stored yet, so Apply makes the document and gives it the days' figures as they are.
            operations.Store(Apply(stored, key, RollupGrain.Month, new Change(requests, errors, Merged(histograms, accumulator)), accumulator));
        }

        static IEnumerable<SeriesHour> DaysOf(SeriesHour month)
        {
            for (var day = month.Hour; day < month.Hour.AddMonths(1); day = day.AddDays(1))
            {
                yield return month with { Hour = day };
            }
        }
    }

    /// <summary>Per endpoint or customer and UTC hour, the minutes' figures of every event in the page, not merged yet.</summary>
    private static Dictionary<SeriesHour, HourOfMinutes> CollectSeriesHours(IReadOnlyList<IEvent> events, int index, LatencyRollupShards shards)
    {
        var hours = new Dictionary<SeriesHour, HourOfMinutes>();
        // A page is mostly a few services' events in a row: hash a service only when it changes.
        string? lastService = null;
        var owned = false;
        foreach (var @event in events)
        {
            if (RollupSeries.Recorded(@event.Data) is not { } recorded)
            {
                continue;
            }
            if (recorded.Service != lastService)
            {
                lastService = recorded.Service;
                owned = shards.IndexOf(recorded.Service) == index;
            }
            if (!owned)
            {
                continue;
            }
            // An event's minutes mostly share one hour: look the hour up only when it changes.
            HourOfMinutes? current = null;
            var currentHour = DateTimeOffset.MinValue;
            foreach (var minute in recorded.Minutes)
            {
                var hour = LatencyRollup.StartOf(RollupGrain.Hour, minute.Minute);
                if (current is null || hour != currentHour)
                {
                    current = Of(hours, new SeriesHour(recorded.Service, recorded.Series, hour));
                    currentHour = hour;
                }
                current.Add((int)(minute.Minute - hour).TotalMinutes, minute.Requests, minute.Errors, minute.Latency, @event.Sequence);
            }
        }
        return hours;
    }

    private static LatencyRollup Apply(Dictionary<string, LatencyRollup> stored, SeriesHour key, RollupGrain grain, Change change, LatencyHistogram accumulator)
    {
        var id = key.RollupId(grain);
        var rollup = stored.GetValueOrDefault(id)
            ?? new LatencyRollup { Id = id, Service = key.Service, Endpoint = key.Series, Grain = grain, Start = key.Hour };
        rollup.Latency = Change.Combine(rollup.Latency, change.Latency, accumulator);
        rollup.Requests += change.Requests;
        rollup.Errors += change.Errors;
        return rollup;
    }

    private static HourOfMinutes Of(Dictionary<SeriesHour, HourOfMinutes> hours, SeriesHour key)
    {
        if (!hours.TryGetValue(key, out var hour))
        {
            hour = new HourOfMinutes();
            hours.Add(key, hour);
        }
        return hour;
    }

    /// <summary>One series (an endpoint, a customer or "*": <see cref="RollupSeries"/>) of a service from a UTC hour (or day) on.</summary>
    private readonly record struct SeriesHour(string Service, string Series, DateTimeOffset Hour)
    {
        public string MinutesId => MinuteRollups.IdFor(Service, Series, Hour);

        public string RollupId(RollupGrain grain) => LatencyRollup.IdFor(Service, Series, grain, Hour);
    }

    /// <summary>What a page adds to one rollup.</summary>
    private sealed record Change(long Requests, long Errors, byte[] Latency)
    {
        public static Change Merge(List<Change> changes, LatencyHistogram accumulator)
        {
            if (changes.Count == 1)
            {
                return changes[0];
            }
            long requests = 0, errors = 0;
            var histograms = new List<byte[]>(changes.Count);
            foreach (var change in changes)
            {
                requests += change.Requests;
                errors += change.Errors;
                histograms.Add(change.Latency);
            }
            return new Change(requests, errors, Merged(histograms, accumulator));
        }

        /// <summary>Stored bytes plus a change; a rollup that held nothing yet keeps the change's bytes as they are.</summary>
        public static byte[] Combine(byte[] stored, byte[] change, LatencyHistogram accumulator) =>
            stored.Length == 0 ? change : Merged([stored, change], accumulator);
    }

    /// <summary>One histogram's bytes as they are; several merged and encoded again.</summary>
    private static byte[] Merged(List<byte[]> histograms, LatencyHistogram accumulator)
    {
        if (histograms.Count == 1)
        {
            return histograms[0];
        }
        accumulator.Clear();
        foreach (var histogram in histograms)
        {
            accumulator.AddEncoded(histogram);
        }
        return accumulator.Encode();
    }

    /// <summary>The minutes of one series' hour as a page brings them: per minute, histograms still to be merged.</summary>
    private sealed class HourOfMinutes
    {
        private readonly long[] _requests = new long[MinuteRollups.MinutesPerHour];
        private readonly long[] _errors = new long[MinuteRollups.MinutesPerHour];
        private readonly List<byte[]>?[] _histograms = new List<byte[]>?[MinuteRollups.MinutesPerHour];
        private readonly List<long>?[] _events = new List<long>?[MinuteRollups.MinutesPerHour];

        public void Add(int minute, long requests, long errors, byte[] latency, long? sequence)
        {
            _requests[minute] += requests;
            _errors[minute] += errors;
            (_histograms[minute] ??= []).Add(latency);
            if (sequence is { } carriedBy)
            {
                var events = _events[minute] ??= [];
                // An event with several minutes of the hour is added once per minute, not once per hour.
                if (events.Count == 0 || events[^1] != carriedBy)
                {
                    events.Add(carriedBy);
                }
            }
        }

        /// <summary>The events of the page that carried the minute at <paramref name="minute"/>.</summary>
        public List<long> EventsOf(int minute) => _events[minute] ?? [];

        /// <summary>Each minute's histograms merged into one, and the hour's change merged from those.</summary>
        public (Change?[] Minutes, Change Hour) Fold(LatencyHistogram accumulator)
        {
            var minutes = new Change?[MinuteRollups.MinutesPerHour];
            var hour = new List<Change>(MinuteRollups.MinutesPerHour);
            for (var index = 0; index < MinuteRollups.MinutesPerHour; index++)
            {
                if (_histograms[index] is not { } histograms)
                {
                    continue;
                }
                var latency = Merged(histograms, accumulator);
                var minute = new Change(_requests[index], _errors[index], latency);
                minutes[index] = minute;
                hour.Add(minute);
            }
            return (minutes, Change.Merge(hour, accumulator));
        }
    }
}
