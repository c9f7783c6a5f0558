namespace MaestroSla.Ingest.Storage;

/// <summary>
/// Configuration section "Ingest:Write": how long an ingest transaction may wait or idle. Set on the transaction
/// itself (server side), so a writer that hangs — a GC pause, a stopped host, a network partition — cannot hold the
/// locks of its partitions beyond <see cref="IdleInTransactionTimeout"/>, and nobody waits on it longer than
/// <see cref="LockTimeout"/>.
/// </summary>
public sealed class IngestWriteOptions
{
    public const string Section = "Ingest:Write";

    /// <summary>
    /// PostgreSQL ends an ingest session that sits inside its transaction doing nothing for this long, rolling it
    /// back, so a frozen instance holds its partitions' rows no longer. A healthy writer idles only while it
    /// serialises a batch's events between statements (inside Marten's SaveChanges); on a host starved of CPU that
    /// took seconds and rolled healthy batches back (docs/benchmarks.md) — raise it there, at the price of a longer
    /// wait for whoever takes a frozen instance's partitions over.
    /// </summary>
    public TimeSpan IdleInTransactionTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A statement that waits this long for a row lock (a partition's offsets) fails and the batch is read again.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest any one ingest statement may run.</summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>HTTP writers per store: each HTTP transaction holds one slot, and appends to that slot's streams.</summary>
    public int HttpSlots { get; set; } = 16;

    /// <summary>Most endpoints per service before new ones are counted under "(other)".</summary>
    public int EndpointLimitPerService { get; set; } = SeriesCatalog.DefaultEndpointLimit;

    /// <summary>Most customers per service before new ones are counted under "(other)".</summary>
    public int CustomerLimitPerService { get; set; } = SeriesCatalog.DefaultCustomerLimit;
}
