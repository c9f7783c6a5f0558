namespace MaestroSla.Ingest.Idempotency;

/// <summary>Configuration section "Ingest:Idempotency".</summary>
public sealed class IdempotencyOptions
{
    public const string Section = "Ingest:Idempotency";

    /// <summary>
    /// How long a stored batch's key answers retries with the first answer. A retry after this long is stored again:
    /// keep it above the longest time a client may go on retrying one batch.
    /// </summary>
    public TimeSpan KeyLifetime { get; set; } = TimeSpan.FromHours(24);
}
