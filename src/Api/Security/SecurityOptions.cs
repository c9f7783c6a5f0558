using System.Globalization;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Security;

/// <summary>
/// Configuration section "Security". With no <see cref="ApiKeys"/> the API runs open (the local demo) and says so
/// loudly at start; one configured key turns authentication on for every /api endpoint.
/// </summary>
public sealed class SecurityOptions
{
    public const string Section = "Security";

    /// <summary>Refuse to start without API keys (set in production, so a missing Secret cannot leave the API open).</summary>
    public bool RequireApiKeys { get; set; }

    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Largest request body for every endpoint but ingest.</summary>
    public long MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Largest body of POST /api/ingest (50,000 messages of ~200 bytes fit with room to spare).</summary>
    public long MaxIngestBodyBytes { get; set; } = 16 * 1024 * 1024;

    public RateLimitOptions RateLimit { get; set; } = new();
}

/// <summary>
/// One API key: only its SHA-256 is configured, as 64 hexadecimal characters
/// (`printf '%s' "$KEY" | sha256sum`, or `dotnet MaestroSla.Api.dll hash-key` reading the key from standard input).
/// </summary>
public sealed class ApiKeyOptions
{
    /// <summary>Who holds the key; the only thing about a key that is ever logged.</summary>
    public string Name { get; set; } = "";

    public string KeyHash { get; set; } = "";

    /// <summary>ingest, read and/or admin (admin may do everything).</summary>
    public List<string> Roles { get; set; } = [];

    /// <summary>When given, the services this key may read; empty: all of them.</summary>
    public List<string> Services { get; set; } = [];

    /// <summary>Requests per rate-limit window for this key, in place of Security:RateLimit:PermitLimit.</summary>
    public int? PermitLimit { get; set; }
}

/// <summary>A fixed window per API key (per client address for requests without one).</summary>
public sealed class RateLimitOptions
{
    public bool Enabled { get; set; } = true;

    public int PermitLimit { get; set; } = 6000;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Requests held back (rather than refused) once a window's permits are spent.</summary>
    public int QueueLimit { get; set; }
}

/// <summary>Every problem at once, each naming its configuration key, so one failed start tells the whole story.</summary>
public sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var problems = new List<string>();
        if (options.RequireApiKeys && options.ApiKeys.Count == 0)
        {
            problems.Add($"{SecurityOptions.Section}:RequireApiKeys is true but no {SecurityOptions.Section}:ApiKeys are configured");
        }
        if (options.MaxBodyBytes <= 0)
        {
            problems.Add($"{SecurityOptions.Section}:MaxBodyBytes must be positive");
        }
        if (options.MaxIngestBodyBytes <= 0)
        {
            problems.Add($"{SecurityOptions.Section}:MaxIngestBodyBytes must be positive");
        }
        var rate = options.RateLimit;
        if (rate.PermitLimit < 1)
        {
            problems.Add($"{SecurityOptions.Section}:RateLimit:PermitLimit must be at least 1");
        }
        if (rate.Window <= TimeSpan.Zero)
        {
            problems.Add($"{SecurityOptions.Section}:RateLimit:Window must be positive");
        }
        if (rate.QueueLimit < 0)
        {
            problems.Add($"{SecurityOptions.Section}:RateLimit:QueueLimit must not be negative");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.ApiKeys.Count; i++)
        {
            var key = options.ApiKeys[i];
            var path = string.Create(CultureInfo.InvariantCulture, $"{SecurityOptions.Section}:ApiKeys:{i}");
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                problems.Add($"{path}:Name must not be empty");
            }
            else if (!names.Add(key.Name))
            {
                problems.Add($"{path}:Name '{key.Name}' is used by another key");
            }
            if (!ApiKeyHash.TryParse(key.KeyHash, out _))
            {
                // The value itself is not echoed: someone may have pasted the key instead of its hash.
                problems.Add($"{path}:KeyHash must be the SHA-256 of the key as 64 hexadecimal characters (got {key.KeyHash?.Length ?? 0} characters); " +
                    "hash a key with `printf '%s' \"$KEY\" | sha256sum` or `dotnet MaestroSla.Api.dll hash-key`");
            }
            else if (!hashes.Add(key.KeyHash))
            {
                problems.Add($"{path}:KeyHash is the hash of another key too");
            }
            if (key.Roles.Count == 0)
            {
                problems.Add($"{path}:Roles must name at least one of {string.Join(", ", ApiRoles.All)}");
            }
            for (var r = 0; r < key.Roles.Count; r++)
            {
                if (ApiRoles.Normalize(key.Roles[r]) is null)
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{path}:Roles:{r} is '{key.Roles[r]}'; roles are {string.Join(", ", ApiRoles.All)}"));
                }
            }
            for (var s = 0; s < key.Services.Count; s++)
            {
                if (string.IsNullOrWhiteSpace(key.Services[s]))
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"{path}:Services:{s} must not be empty"));
                }
            }
            if (key.PermitLimit is < 1)
            {
                problems.Add($"{path}:PermitLimit must be at least 1");
            }
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
