using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Infra;

/// <summary>Bad settings stop the start with a message naming the key, before any database work (the database here does not exist).</summary>
public sealed class ConfigurationValidationTests
{
    private const string NoDatabase = "Host=127.0.0.1;Port=1;Database=none;Username=none;Password=none;Timeout=2";

    [Theory]
    [InlineData("Caching:Policy", "Bogus", "Caching:Policy")]
    [InlineData("Caching:Capacity", "1", "Caching:Capacity must be at least 3")]
    [InlineData("Caching:Ttl", "soon", "Caching:Ttl")]
    [InlineData("Security:ApiKeys:1:KeyHash", "not-a-hash", "Security:ApiKeys:1:KeyHash must be the SHA-256 of the key as 64 hexadecimal characters")]
    [InlineData("Security:ApiKeys:0:Roles:0", "root", "Security:ApiKeys:0:Roles:0 is 'root'; roles are ingest, read, admin")]
    [InlineData("Security:RateLimit:PermitLimit", "0", "Security:RateLimit:PermitLimit must be at least 1")]
    [InlineData("Security:MaxIngestBodyBytes", "-1", "Security:MaxIngestBodyBytes must be positive")]
    public async Task a_bad_value_fails_the_start_with_a_message_naming_its_key(string key, string value, string message)
    {
        var settings = new Dictionary<string, string?>
        {
            [key] = value,
            ["Security:ApiKeys:1:Name"] = "second",
            ["Security:ApiKeys:1:Roles:0"] = "read",
        };
        if (!key.StartsWith("Security:ApiKeys:1:KeyHash", StringComparison.Ordinal))
        {
            settings["Security:ApiKeys:1:KeyHash"] = MaestroSla.Api.Security.ApiKeyHash.Of("second-key");
        }

        var failure = await Should.ThrowAsync<Exception>(() => RunningApp.StartAsync(NoDatabase, settings));

        failure.Message.ShouldContain(message);
        failure.Message.ShouldNotContain("not-a-hash", customMessage: "a mistyped hash may be a pasted key: it is not repeated");
    }
}
