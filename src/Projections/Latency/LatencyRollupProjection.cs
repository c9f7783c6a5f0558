using JasperFx.Events;
using MaestroSla.Contracts.Events;
using MaestroSla.Contracts.Latency;
using Marten;
using Marten.Events.Projections;

namespace MaestroSla.Projections.Latency;

/// <summary>
/// Folds <see cref="RequestsRecorded"/> into minute, hour and day rollups per endpoint and per service.
/// It works on the daemon's whole page of events at once, so each rollup touched by the page is loaded,
/// decoded and encoded once per page rather than once per event. Time comes only from the events, so a
/// rebuild gives the same documents.
/// </summary>
public sealed class LatencyRollupProjection : IProjection
{
    public const string Name = "latency_rollups";

    private static readonly RollupGrain[] Grains = [RollupGrain.Minute, RollupGrain.Hour, RollupGrain.Day];

    public async Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        var changes = new Dictionary<string, RollupChange>();
        foreach (var @event in events)
        {
            if (@event.Data is not RequestsRecorded recorded)
            {
                continue;
            }
            foreach (var minute in recorded.Minutes)
            {
                foreach (var grain in Grains)
                {
                    var start = LatencyRollup.StartOf(grain, minute.Minute);
                    Collect(changes, recorded.Service, recorded.Endpoint, grain, start, minute);
                    Collect(changes, recorded.Service, LatencyRollup.AllEndpoints, grain, start, minute);
                }
            }
        }
        if (changes.Count == 0)
        {
            return;
        }

        var existing = await operations.LoadManyAsync<LatencyRollup>(cancellation, changes.Keys.ToArray());
        var existingById = new Dictionary<string, LatencyRollup>(existing.Count);
        foreach (var rollup in existing)
        {
            existingById[rollup.Id] = rollup;
        }

        var accumulator = new LatencyHistogram();
        foreach (var (id, change) in changes)
        {
            existingById.TryGetValue(id, out var rollup);
            operations.Store(Merge(id, rollup, change, accumulator));
        }
    }

    private static LatencyRollup Merge(string id, LatencyRollup? rollup, RollupChange change, LatencyHistogram accumulator)
    {
        rollup ??= new LatencyRollup { Id = id, Service = change.Service, Endpoint = change.Endpoint, Grain = change.Grain, Start = change.Start };

        // A new rollup fed by a single minute keeps that minute's bytes: nothing to merge.
        if (rollup.Requests == 0 && change.Histograms.Count == 1)
        {
            rollup.Latency = change.Histograms[0];
        }
        else
        {
            accumulator.Clear();
            if (rollup.Latency.Length > 0)
            {
                accumulator.AddEncoded(rollup.Latency);
            }
            foreach (var histogram in change.Histograms)
            {
                accumulator.AddEncoded(histogram);
            }
            rollup.Latency = accumulator.Encode();
        }
        rollup.Requests += change.Requests;
        rollup.Errors += change.Errors;
        return rollup;
    }

    private static void Collect(
        Dictionary<string, RollupChange> changes, string service, string endpoint, RollupGrain grain, DateTimeOffset start, MinuteOfRequests minute)
    {
        var id = LatencyRollup.IdFor(service, endpoint, grain, start);
        if (!changes.TryGetValue(id, out var change))
        {
            change = new RollupChange(service, endpoint, grain, start);
            changes.Add(id, change);
        }
        change.Requests += minute.Requests;
        change.Errors += minute.Errors;
        change.Histograms.Add(minute.Latency);
    }

    private sealed class RollupChange(string service, string endpoint, RollupGrain grain, DateTimeOffset start)
    {
        public string Service { get; } = service;
        public string Endpoint { get; } = endpoint;
        public RollupGrain Grain { get; } = grain;
        public DateTimeOffset Start { get; } = start;
        public long Requests { get; set; }
        public long Errors { get; set; }
        public List<byte[]> Histograms { get; } = [];
    }
}
