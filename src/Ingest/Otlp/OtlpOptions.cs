namespace MaestroSla.Ingest.Otlp;

/// <summary>Configuration section "Ingest:Otlp".</summary>
public sealed class OtlpOptions
{
    public const string Section = "Ingest:Otlp";

    /// <summary>
    /// Most bytes an export may hold once gunzipped. The body limit (Security:MaxIngestBodyBytes) bounds what is sent;
    /// this bounds what a small compressed body may expand to.
    /// </summary>
    public long MaxDecodedBodyBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most spans in one export, as /api/ingest takes at most this many messages per request.</summary>
    public int MaxSpansPerRequest { get; set; } = 50_000;

    /// <summary>
    /// The attribute that names a SERVER span's customer (the request's <c>customer</c>): a span attribute, else a
    /// resource attribute; neither: no customer.
    /// </summary>
    public string CustomerAttribute { get; set; } = DefaultCustomerAttribute;

    /// <summary>What multi-tenant instrumentation commonly sets (<c>tenant.id</c>).</summary>
    public const string DefaultCustomerAttribute = "tenant.id";
}
