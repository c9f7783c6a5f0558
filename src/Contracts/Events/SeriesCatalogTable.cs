namespace MaestroSla.Contracts.Events;

/// <summary>
/// The table of every (service, endpoint) series ingest has stored, written by ingest in the same transaction as the
/// series' first events (endpoint "*" stands for the service itself, for services that sent only downtime or health).
/// It is what the per-service endpoint limit counts, and the service catalogue readers list.
/// </summary>
public static class SeriesCatalogTable
{
    public const string Name = "series_catalog";

    /// <summary>The row that makes a service known, whatever it sent.</summary>
    public const string ServiceRow = "*";

    /// <summary>The endpoint that takes the requests of endpoints past a service's limit.</summary>
    public const string OtherEndpoint = "(other)";

    /// <summary>The customer that takes the requests of customers past a service's customer limit.</summary>
    public const string OtherCustomer = "(other)";

    /// <summary>
    /// The table of every (service, customer) ingest has stored <see cref="CustomerRequestsRecorded"/> of, written in the
    /// same transaction as the customer's first events: what the per-service customer limit counts.
    /// </summary>
    public const string CustomerTableName = "customer_catalog";
}
