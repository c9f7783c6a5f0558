using System.Diagnostics.Metrics;
using BitFaster.Caching;
using BitFaster.Caching.Atomic;
using BitFaster.Caching.Lfu;
using BitFaster.Caching.Lru;
using MaestroSla.Contracts.Reports;
using MaestroSla.EventStore;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using Marten;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Reports;

/// <summary>
/// What a caller asked for. Formatting (json or csv) is the endpoint's business: the cache keeps the report only, but
/// counts each format as an entry of its own, as it always has (hits, misses and capacity stay comparable). Customer is
/// one customer's report (?customer=).
/// </summary>
public sealed record ReportRequest(string Service, string? Endpoint, ReportPeriod Period, DateTimeOffset? AsOf, string Format = "json", string? Customer = null);

/// <summary>
/// How far the store had got when a report was asked for: the slowest of the projections a report reads (every
/// latency_rollups_N shard and uptime_signals) and the newest event (targets are read from the events themselves).
/// </summary>
public readonly record struct StorePositions(long Projection, long HighWater)
{
    /// <summary>For settled as-of reports, which no later event can change.</summary>
    public static StorePositions Settled { get; } = new(-1, -1);

    public static async Task<StorePositions> ReadAsync(IQuerySession session, CancellationToken ct)
    {
        var (projection, highWater) = await EventStoreQueries.SlowestProgressAndLastSequenceAsync(
            session, ReportProjections.ShardIdentities(session.DocumentStore.Options), ct);
        return new StorePositions(projection, highWater);
    }
}

/// <summary>
/// SLA reports, never older than the store: the key holds the store positions read just before the report is looked
/// up, so a report computed before the projection (or the event log) moved on is simply never asked for again and
/// ages out under the configured policy. A report is always computed after its key's positions were read, so what is
/// cached under a key is at least as new as the key says.
/// </summary>
public sealed class ReportCache
{
    public const string MeterName = "MaestroSla";

    private readonly IAsyncCache<Key, SlaReport>? _cache;
    private readonly IDocumentStore _store;
    private readonly CancellationToken _stopping;
    private readonly SlaOptions _sla;
    private readonly ReportCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Counter<long> _evictions;
    private long _hitCount;
    private long _missCount;

    public ReportCache(
        IDocumentStore store, IOptions<ReportCacheOptions> options, IOptions<SlaOptions> sla, TimeProvider time, IMeterFactory meters,
        IHostApplicationLifetime lifetime)
    {
        _store = store;
        _stopping = lifetime.ApplicationStopping;
        _options = options.Value;
        _sla = sla.Value;
        _time = time;

        var meter = meters.Create(MeterName);
        // The Prometheus exporter turns dots into underscores and adds _total to counters:
        // maestrosla_report_cache_hits_total, …_misses_total, …_evictions_total, maestrosla_report_cache_entries.
        _hits = meter.CreateCounter<long>("maestrosla.report_cache.hits", description: "SLA reports answered from the cache");
        _misses = meter.CreateCounter<long>("maestrosla.report_cache.misses", description: "SLA reports computed because the cache had none as new as the store");
        _evictions = meter.CreateCounter<long>("maestrosla.report_cache.evictions", description: "SLA reports dropped by the cache policy (capacity or TTL)");

        if (!_options.Enabled)
        {
            return;
        }
        _cache = Build(_options);
        meter.CreateObservableGauge("maestrosla.report_cache.entries", () => (long)_cache.Count, description: "SLA reports in the cache");
        meter.CreateObservableGauge("maestrosla.report_cache.hit_ratio", HitRatio, unit: "1", description: "Share of report requests answered from the cache since start");
    }

    public ReportCachePolicy Policy => _options.Policy;

    public bool Enabled => _cache is not null;

    /// <summary>The underlying BitFaster cache's type (ConcurrentLru, ConcurrentLfu or ConcurrentTLru).</summary>
    public string Implementation { get; private set; } = "none";

    public int Count => _cache?.Count ?? 0;

    public async Task<StorePositions> ReadPositionsAsync(CancellationToken ct)
    {
        await using var session = _store.QuerySession();
        return await StorePositions.ReadAsync(session, ct);
    }

    public async Task<SlaReport> GetAsync(ReportRequest request, CancellationToken ct)
    {
        var positions = IsSettled(request) || _cache is null ? StorePositions.Settled : await ReadPositionsAsync(ct);
        return await GetAsync(request, positions, ct);
    }

    /// <summary>With positions read by the caller before (once for many services, as in the status view).</summary>
    public async Task<SlaReport> GetAsync(ReportRequest request, StorePositions positions, CancellationToken ct)
    {
        if (_cache is null)
        {
            return await BuildAsync(request, ct);
        }
        if (IsSettled(request))
        {
            positions = StorePositions.Settled;
        }
        var key = new Key(request.Service, request.Endpoint, request.Customer, request.Period.From, request.Period.To, request.Period.TimeZone, request.AsOf,
            request.Period.ScheduledTo, request.Format, positions.Projection, positions.HighWater);
        if (_cache.TryGet(key, out var cached))
        {
            Interlocked.Increment(ref _hitCount);
            _hits.Add(1);
            return cached;
        }
        Interlocked.Increment(ref _missCount);
        _misses.Add(1);
        // Atomic: concurrent requests for one report share one computation, which therefore belongs to no request (its
        // own session, stopped only with the application); each caller stops waiting when its own request ends.
        return await _cache.GetOrAddAsync(key, static (_, state) => state.Cache.BuildAsync(state.Request, state.Cache._stopping), (Cache: this, Request: request))
            .AsTask()
            .WaitAsync(ct);
    }

    private bool IsSettled(ReportRequest request) =>
        request.AsOf is { } asOf && asOf <= _time.GetUtcNow() - _options.AsOfSettledAfter;

    private async Task<SlaReport> BuildAsync(ReportRequest request, CancellationToken ct)
    {
        await using var session = _store.QuerySession();
        var report = await SlaReportBuilder.BuildAsync(
            session, _sla, request.Service, request.Period.From, request.Period.To, request.Period.TimeZone, request.AsOf, ct, request.Endpoint, request.Customer);
        return request.Period.Mark(report);
    }

    private double HitRatio()
    {
        var hits = Interlocked.Read(ref _hitCount);
        var total = hits + Interlocked.Read(ref _missCount);
        return total == 0 ? 0 : (double)hits / total;
    }

    /// <summary>The policy's BitFaster cache, wrapped so that concurrent misses on one key compute it once.</summary>
    private AtomicFactoryAsyncCache<Key, SlaReport> Build(ReportCacheOptions options)
    {
        ICache<Key, AsyncAtomicFactory<Key, SlaReport>> inner = options.Policy switch
        {
            ReportCachePolicy.Lfu => new ConcurrentLfu<Key, AsyncAtomicFactory<Key, SlaReport>>(options.Capacity),
            ReportCachePolicy.Ttl => new ConcurrentTLru<Key, AsyncAtomicFactory<Key, SlaReport>>(options.Capacity, options.Ttl),
            _ => new ConcurrentLru<Key, AsyncAtomicFactory<Key, SlaReport>>(options.Capacity),
        };
        Implementation = inner.GetType().Name.Split('`')[0];
        if (inner.Events is { HasValue: true, Value: { } events })
        {
            events.ItemRemoved += (_, removed) =>
            {
                if (removed.Reason == ItemRemovedReason.Evicted)
                {
                    _evictions.Add(1);
                }
            };
        }
        return new AtomicFactoryAsyncCache<Key, SlaReport>(inner);
    }

    private readonly record struct Key(
        string Service, string? Endpoint, string? Customer, DateTimeOffset From, DateTimeOffset To, string TimeZone, DateTimeOffset? AsOf, DateTimeOffset? ScheduledTo, string Format,
        long Projection, long HighWater);
}
