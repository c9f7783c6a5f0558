using System.Diagnostics.CodeAnalysis;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Security;

public static class ApiRoles
{
    /// <summary>POST /api/ingest.</summary>
    public const string Ingest = "ingest";

    /// <summary>Reports, status and targets (optionally limited to listed services).</summary>
    public const string Read = "read";

    /// <summary>Everything: setting targets, dead letters, /api/admin/**, and what the other roles may do.</summary>
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Ingest, Read, Admin];

    public static string? Normalize(string? role) =>
        role is null ? null : All.FirstOrDefault(r => string.Equals(r, role.Trim(), StringComparison.OrdinalIgnoreCase));
}

public static class ApiKeyHash
{
    /// <summary>The configured form of a key: SHA-256 of its UTF-8 bytes, lower-case hex.</summary>
    public static string Of(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool TryParse([NotNullWhen(true)] string? hex, [NotNullWhen(true)] out byte[]? hash)
    {
        hash = null;
        if (hex is null || hex.Length != SHA256.HashSizeInBytes * 2 || !hex.All(Uri.IsHexDigit))
        {
            return false;
        }
        hash = Convert.FromHexString(hex);
        return true;
    }
}

public static class ApiClaims
{
    /// <summary>The name of the key a request authenticated with; absent when the API runs open.</summary>
    public const string KeyName = "maestrosla:api_key";

    /// <summary>A service a read key is limited to (none: every service).</summary>
    public const string Service = "maestrosla:service";
}

/// <summary>The configured keys, parsed once; finds the key a request presents without leaking which one by timing.</summary>
public sealed class ApiKeyStore
{
    private readonly Entry[] _entries;

    public ApiKeyStore(IOptions<SecurityOptions> options)
    {
        _entries = options.Value.ApiKeys
            .Select(k => new Entry(ApiKeyHash.TryParse(k.KeyHash, out var hash) ? hash : new byte[SHA256.HashSizeInBytes], Principal(k), k.Name, k.PermitLimit))
            .ToArray();
        OpenPrincipal = new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "anonymous (no API keys configured)"), new Claim(ClaimTypes.Role, ApiRoles.Admin)],
            ApiKeyAuthentication.SchemeName, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>No keys configured: every request is let through (see <see cref="SecurityOptions"/>).</summary>
    public bool IsOpen => _entries.Length == 0;

    public ClaimsPrincipal OpenPrincipal { get; }

    public IEnumerable<string> Names => _entries.Select(e => e.Name);

    /// <summary>The key's principal, or null. Every configured hash is compared, in constant time each.</summary>
    public ClaimsPrincipal? Find(string presentedKey)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(presentedKey);
        SHA256.HashData(bytes, presented);
        CryptographicOperations.ZeroMemory(bytes);

        ClaimsPrincipal? found = null;
        foreach (var entry in _entries)
        {
            // No early exit: the time taken does not depend on which key (if any) matched.
            if (CryptographicOperations.FixedTimeEquals(presented, entry.Hash))
            {
                found = entry.Principal;
            }
        }
        return found;
    }

    public int? PermitLimitOf(string keyName) => Array.Find(_entries, e => e.Name == keyName)?.PermitLimit;

    private static ClaimsPrincipal Principal(ApiKeyOptions key)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, key.Name), new(ApiClaims.KeyName, key.Name) };
        claims.AddRange(key.Roles.Select(ApiRoles.Normalize).OfType<string>().Distinct().Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(key.Services.Select(s => new Claim(ApiClaims.Service, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName, ClaimTypes.Name, ClaimTypes.Role));
    }

    private sealed record Entry(byte[] Hash, ClaimsPrincipal Principal, string Name, int? PermitLimit);
}
