using System.Security.Cryptography;
using System.Text;
using MaestroSla.Api.Security;
using Microsoft.Extensions.Options;
using Shouldly;

namespace MaestroSla.Tests.Security;

[Trait("Category", "Unit")]
public sealed class ApiKeyTests
{
    [Fact]
    public void a_key_hash_is_the_lower_case_hex_sha256_of_the_key_as_sha256sum_prints_it()
    {
        // printf '%s' 'secret' | sha256sum
        ApiKeyHash.Of("secret").ShouldBe("2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
        ApiKeyHash.TryParse(ApiKeyHash.Of("secret").ToUpperInvariant(), out var hash).ShouldBeTrue("upper-case hex is accepted too");
        hash.ShouldBe(SHA256.HashData(Encoding.UTF8.GetBytes("secret")));
        ApiKeyHash.TryParse("secret", out _).ShouldBeFalse();
        ApiKeyHash.TryParse(new string('g', 64), out _).ShouldBeFalse();
        ApiKeyHash.TryParse(null, out _).ShouldBeFalse();
    }

    [Fact]
    public void the_store_finds_the_key_presented_with_its_roles_and_services_and_nothing_for_other_keys()
    {
        var store = new ApiKeyStore(Options.Create(new SecurityOptions
        {
            ApiKeys =
            [
                new ApiKeyOptions { Name = "collector", KeyHash = ApiKeyHash.Of("k-ingest"), Roles = ["Ingest"] },
                new ApiKeyOptions { Name = "grafana", KeyHash = ApiKeyHash.Of("k-read").ToUpperInvariant(), Roles = ["read"], Services = ["checkout"] },
            ],
        }));

        store.IsOpen.ShouldBeFalse();
        var collector = store.Find("k-ingest").ShouldNotBeNull();
        collector.Identity!.Name.ShouldBe("collector");
        collector.IsInRole(ApiRoles.Ingest).ShouldBeTrue("roles are matched case-insensitively and normalized");
        collector.IsInRole(ApiRoles.Read).ShouldBeFalse();

        var grafana = store.Find("k-read").ShouldNotBeNull();
        ApiAccess.MayRead(grafana, "checkout").ShouldBeTrue();
        ApiAccess.MayRead(grafana, "catalog").ShouldBeFalse();
        ApiAccess.MayRead(collector, "catalog").ShouldBeTrue("a key without a service list is not limited");

        store.Find("k-read ").ShouldBeNull();
        store.Find("").ShouldBeNull();
        store.Find(ApiKeyHash.Of("k-read")).ShouldBeNull("the hash itself is not a key");
    }

    [Fact]
    public void with_no_keys_the_store_is_open_and_its_principal_may_do_everything()
    {
        var store = new ApiKeyStore(Options.Create(new SecurityOptions()));
        store.IsOpen.ShouldBeTrue();
        store.OpenPrincipal.IsInRole(ApiRoles.Admin).ShouldBeTrue();
        ApiAccess.MayRead(store.OpenPrincipal, "anything").ShouldBeTrue();
    }

    [Fact]
    public void every_configuration_mistake_is_reported_with_the_key_that_holds_it_and_never_the_value()
    {
        var options = new SecurityOptions
        {
            ApiKeys =
            [
                new ApiKeyOptions { Name = "ok", KeyHash = ApiKeyHash.Of("a"), Roles = ["admin"] },
                new ApiKeyOptions { Name = "pasted-the-key", KeyHash = "my-plain-secret-key", Roles = ["read"] },
                new ApiKeyOptions { Name = "", KeyHash = ApiKeyHash.Of("b"), Roles = ["superuser"], Services = [" "], PermitLimit = 0 },
                new ApiKeyOptions { Name = "OK", KeyHash = ApiKeyHash.Of("a"), Roles = [] },
            ],
            MaxBodyBytes = 0,
            RateLimit = new RateLimitOptions { PermitLimit = 0, Window = TimeSpan.Zero, QueueLimit = -1 },
        };

        var result = new SecurityOptionsValidator().Validate(null, options);

        result.Failed.ShouldBeTrue();
        var failures = result.Failures!.ToList();
        failures.ShouldContain(f => f.StartsWith("Security:ApiKeys:1:KeyHash must be the SHA-256", StringComparison.Ordinal));
        failures.ShouldContain("Security:ApiKeys:2:Name must not be empty");
        failures.ShouldContain(f => f.StartsWith("Security:ApiKeys:2:Roles:0 is 'superuser'", StringComparison.Ordinal));
        failures.ShouldContain("Security:ApiKeys:2:Services:0 must not be empty");
        failures.ShouldContain("Security:ApiKeys:2:PermitLimit must be at least 1");
        failures.ShouldContain("Security:ApiKeys:3:Name 'OK' is used by another key");
        failures.ShouldContain("Security:ApiKeys:3:KeyHash is the hash of another key too");
        failures.ShouldContain(f => f.StartsWith("Security:ApiKeys:3:Roles must name at least one", StringComparison.Ordinal));
        failures.ShouldContain("Security:MaxBodyBytes must be positive");
        failures.ShouldContain("Security:RateLimit:PermitLimit must be at least 1");
        failures.ShouldContain("Security:RateLimit:Window must be positive");
        failures.ShouldContain("Security:RateLimit:QueueLimit must not be negative");
        failures.ShouldAllBe(f => !f.Contains("my-plain-secret-key"));
    }

    [Fact]
    public void requiring_keys_without_any_fails()
    {
        var result = new SecurityOptionsValidator().Validate(null, new SecurityOptions { RequireApiKeys = true });
        result.Failures!.ShouldContain("Security:RequireApiKeys is true but no Security:ApiKeys are configured");
    }

    [Fact]
    public void the_hash_key_command_reads_the_key_from_standard_input_and_new_key_prints_a_key_with_its_hash()
    {
        var output = new StringWriter();
        ApiKeyCommand.TryRun(["hash-key"], new StringReader("secret\n"), output).ShouldBeTrue();
        output.ToString().Trim().ShouldBe(ApiKeyHash.Of("secret"));

        output = new StringWriter();
        ApiKeyCommand.TryRun(["new-key"], new StringReader(""), output).ShouldBeTrue();
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var key = lines[0]["key:".Length..].Trim();
        key.Length.ShouldBeGreaterThan(40);
        lines[1]["hash:".Length..].Trim().ShouldBe(ApiKeyHash.Of(key));

        ApiKeyCommand.TryRun([], new StringReader(""), output).ShouldBeFalse();
        ApiKeyCommand.TryRun(["demo"], new StringReader(""), output).ShouldBeFalse();
    }

    [Theory]
    [InlineData("POST", "/api/ingest", ApiRoles.Ingest)]
    [InlineData("GET", "/api/reports/{service}", ApiRoles.Read)]
    [InlineData("GET", "/api/status", ApiRoles.Read)]
    [InlineData("GET", "/api/services/{service}/targets", ApiRoles.Read)]
    [InlineData("PUT", "/api/services/{service}/targets", ApiRoles.Admin)]
    [InlineData("GET", "/api/dead-letters", ApiRoles.Admin)]
    [InlineData("GET", "/api/admin/backups", ApiRoles.Admin)]
    [InlineData("POST", "/api/admin/restores", ApiRoles.Admin)]
    [InlineData("DELETE", "/api/anything-new", ApiRoles.Admin)]
    [InlineData("GET", "/api/anything-new", ApiRoles.Read)]
    [InlineData("GET", "/healthz", null)]
    [InlineData("GET", "/metrics", null)]
    [InlineData("GET", "/apix", null)]
    public void routes_map_to_roles_by_rule_so_new_endpoints_are_protected_by_default(string method, string route, string? policy) =>
        ApiAccess.PolicyFor(method, route).ShouldBe(policy);
}
