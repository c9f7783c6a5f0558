using JasperFx.Events;
using MaestroSla.Contracts.Events;
using Marten;
using JasperFx.Events.Projections;
using Marten.Events.Projections;

namespace MaestroSla.Projections.Gaps;

/// <summary>
/// Input the broker deleted before ingest read it, as reports need it: when it may have been produced. Which services
/// it held cannot be known, so every report whose period overlaps <see cref="From"/>..<see cref="DetectedAt"/> lists it.
/// </summary>
public sealed class IngestGap
{
    public required string Id { get; init; }
    public required string Topic { get; init; }
    public required int Partition { get; init; }
    public required long FirstMissingOffset { get; init; }
    public required long LastMissingOffset { get; init; }
    public required long Count { get; init; }

    /// <summary>The partition's previous store; null when it had never been read (the gap may reach back any time).</summary>
    public DateTimeOffset? From { get; init; }

    public required DateTimeOffset DetectedAt { get; init; }

    public static async Task<IReadOnlyList<IngestGap>> OverlappingAsync(IQuerySession session, DateTimeOffset from, DateTimeOffset to, CancellationToken ct) =>
        await session.Query<IngestGap>()
            .Where(g => g.DetectedAt > from && (g.From == null || g.From < to))
            .OrderBy(g => g.DetectedAt)
            .ToListAsync(ct);
}

/// <summary>One <see cref="IngestGap"/> per <see cref="IngestGapDetected"/> event; rebuilt from the events like every projection.</summary>
public sealed class IngestGapsProjection : ProjectionBase, IProjection
{
    public const string ProjectionName = "ingest_gaps";

    public IngestGapsProjection() => IncludeType<IngestGapDetected>();

    public Task ApplyAsync(IDocumentOperations operations, IReadOnlyList<IEvent> events, CancellationToken cancellation)
    {
        foreach (var @event in events)
        {
            if (@event.Data is IngestGapDetected gap)
            {
                operations.Store(new IngestGap
                {
                    Id = $"{gap.Topic}:{gap.Partition}:{gap.FirstMissingOffset}",
                    Topic = gap.Topic,
                    Partition = gap.Partition,
                    FirstMissingOffset = gap.FirstMissingOffset,
                    LastMissingOffset = gap.LastMissingOffset,
                    Count = gap.Count,
                    From = gap.LastStoredAt,
                    DetectedAt = gap.DetectedAt,
                });
            }
        }
        return Task.CompletedTask;
    }
}
