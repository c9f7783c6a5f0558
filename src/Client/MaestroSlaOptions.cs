using MaestroSla.Client.Recording;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace MaestroSla.Client;

public enum MaestroSlaTransport
{
    /// <summary>POST /api/ingest in batches, each with its own Idempotency-Key, retried with back-off.</summary>
    Http,

    /// <summary>The ingest topic, through an idempotent Confluent.Kafka producer (librdkafka batches).</summary>
    Kafka,
}

/// <summary>Configuration section "MaestroSla"; <c>AddMaestroSla(o => …)</c> runs after the section is bound.</summary>
public sealed class MaestroSlaOptions
{
    public const string Section = "MaestroSla";

    /// <summary>The named HttpClient the HTTP transport sends with: add handlers (proxy, certificates) to it by this name.</summary>
    public const string HttpClientName = "MaestroSla.Client";

    /// <summary>The service every request of this app is recorded under; default: the application's name.</summary>
    public string? Service { get; set; }

    public MaestroSlaTransport Transport { get; set; } = MaestroSlaTransport.Http;

    /// <summary>
    /// Messages waiting to be sent. When it is full, new ones are dropped (counted as maestrosla.client.dropped with
    /// reason buffer_full) rather than making a request wait.
    /// </summary>
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>How long the HTTP transport waits for a batch to fill before sending what it has.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Publish ASP.NET Core health-check results (every HealthCheckPublisherOptions.Period, 30 s by default).</summary>
    public bool PublishHealthChecks { get; set; } = true;

    /// <summary>Which requests are recorded (all when null), e.g. to leave out a liveness probe.</summary>
    public Func<HttpContext, bool>? Filter { get; set; }

    /// <summary>
    /// The customer a request was served for, in a multi-tenant service (e.g. from a claim or a header); null or empty:
    /// none. Called once per request, after it was served.
    /// </summary>
    public Func<HttpContext, string?>? CustomerOf { get; set; }

    public MaestroSlaHttpOptions Http { get; set; } = new();

    public MaestroSlaKafkaOptions Kafka { get; set; } = new();
}

public sealed class MaestroSlaHttpOptions
{
    /// <summary>MaestroSla's base address, e.g. http://maestrosla:5000 (the batches go to /api/ingest).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>A key with the ingest role, sent as X-Api-Key; none when MaestroSla runs without keys.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Messages per POST (MaestroSla takes at most 50,000).</summary>
    public int MaxBatchMessages { get; set; } = 5_000;

    /// <summary>Retries of a batch after a network error, a timeout, 408, 429 or 5xx, before it is dropped (counted).</summary>
    public int MaxRetries { get; set; } = 6;

    /// <summary>The first back-off; it doubles with every retry (with jitter), and a Retry-After header wins.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one attempt may take before it counts as failed and is retried.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class MaestroSlaKafkaOptions
{
    public string? BootstrapServers { get; set; }

    /// <summary>MaestroSla's ingest topic (its Kafka:Topic).</summary>
    public string Topic { get; set; } = "maestro.telemetry";

    /// <summary>
    /// Passed to librdkafka as they are and win over the defaults (idempotence on, linger.ms 50): security.protocol,
    /// sasl.*, ssl.*, linger.ms, compression.type …
    /// </summary>
    public Dictionary<string, string> Client { get; set; } = [];
}

/// <summary>Bad configuration stops the app at start, naming the setting, rather than losing telemetry silently.</summary>
internal sealed class MaestroSlaOptionsValidation : IValidateOptions<MaestroSlaOptions>
{
    public ValidateOptionsResult Validate(string? name, MaestroSlaOptions options)
    {
        var problems = new List<string>();
        var serviceProblem = options.Service is null ? "is required" : Names.Problem(options.Service);
        if (serviceProblem is not null)
        {
            problems.Add($"{MaestroSlaOptions.Section}:Service {serviceProblem}");
        }
        if (options.BufferCapacity < 1)
        {
            problems.Add($"{MaestroSlaOptions.Section}:BufferCapacity must be at least 1");
        }
        if (options.FlushInterval < TimeSpan.Zero)
        {
            problems.Add($"{MaestroSlaOptions.Section}:FlushInterval must not be negative");
        }
        switch (options.Transport)
        {
            case MaestroSlaTransport.Http:
                var http = options.Http;
                if (http.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Http:Endpoint must be MaestroSla's absolute http(s) address, e.g. http://maestrosla:5000");
                }
                if (http.MaxBatchMessages is < 1 or > 50_000)
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Http:MaxBatchMessages must lie between 1 and 50000");
                }
                if (http.MaxRetries < 0)
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Http:MaxRetries must not be negative");
                }
                if (http.RetryDelay <= TimeSpan.Zero || http.AttemptTimeout <= TimeSpan.Zero)
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Http:RetryDelay and AttemptTimeout must be positive");
                }
                break;
            case MaestroSlaTransport.Kafka:
                if (string.IsNullOrWhiteSpace(options.Kafka.BootstrapServers))
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Kafka:BootstrapServers is required with Transport Kafka");
                }
                if (string.IsNullOrWhiteSpace(options.Kafka.Topic))
                {
                    problems.Add($"{MaestroSlaOptions.Section}:Kafka:Topic is required with Transport Kafka");
                }
                break;
            default:
                problems.Add($"{MaestroSlaOptions.Section}:Transport must be Http or Kafka");
                break;
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
