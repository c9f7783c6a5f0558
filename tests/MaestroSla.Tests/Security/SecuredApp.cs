using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using MaestroSla.Api.Security;
using MaestroSla.Tests.Infrastructure;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Shouldly;

namespace MaestroSla.Tests.Security;

/// <summary>Keys with each role (besides RunningApp's admin key) and a little data for two services.</summary>
public static class SecuredApp
{
    public const string IngestKey = "key-for-the-collector";
    public const string ReadKey = "key-for-the-analyst";
    public const string CheckoutOnlyKey = "key-for-the-checkout-team";
    public const string IngestAndReadKey = "key-for-the-dashboard";
    public const string ThrottledKey = "key-for-the-script";
    public const string UnknownKey = "key-nobody-configured";

    public static Dictionary<string, string?> Keys(IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>();
        void Add(int index, string name, string key, string[] roles, string[]? services = null, int? permitLimit = null)
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"Security:ApiKeys:{index}");
            settings[$"{path}:Name"] = name;
            settings[$"{path}:KeyHash"] = ApiKeyHash.Of(key);
            for (var i = 0; i < roles.Length; i++)
            {
                settings[string.Create(CultureInfo.InvariantCulture, $"{path}:Roles:{i}")] = roles[i];
            }
            for (var i = 0; i < (services?.Length ?? 0); i++)
            {
                settings[string.Create(CultureInfo.InvariantCulture, $"{path}:Services:{i}")] = services![i];
            }
            if (permitLimit is not null)
            {
                settings[$"{path}:PermitLimit"] = permitLimit.Value.ToString(CultureInfo.InvariantCulture);
            }
        }
        Add(1, "collector", IngestKey, [ApiRoles.Ingest]);
        Add(2, "analyst", ReadKey, [ApiRoles.Read]);
        Add(3, "checkout-team", CheckoutOnlyKey, [ApiRoles.Read], services: ["svc-a"]);
        Add(4, "dashboard", IngestAndReadKey, [ApiRoles.Ingest, ApiRoles.Read]);
        Add(5, "script", ThrottledKey, [ApiRoles.Read], permitLimit: 3);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        return settings;
    }

    public static Task<RunningApp> StartAsync(string connectionString, IDictionary<string, string?>? extra = null) =>
        RunningApp.StartAsync(connectionString, Keys(extra));

    /// <summary>A few requests for svc-a and svc-b, ingested with the admin key and projected.</summary>
    public static async Task SeedTwoServicesAsync(RunningApp app)
    {
        var now = DateTimeOffset.UtcNow;
        var messages = new[]
        {
            TestTraffic.Request("svc-a", "GET /a", 12.5, 200, now.AddMinutes(-3)),
            TestTraffic.Request("svc-a", "GET /a", 40, 500, now.AddMinutes(-2)),
            TestTraffic.Request("svc-b", "GET /b", 7, 200, now.AddMinutes(-1)),
        };
        using var content = new StringContent("[" + string.Join(",", messages.Select(Encoding.UTF8.GetString)) + "]", Encoding.UTF8, "application/json");
        var response = await app.Client.PostAsync("/api/ingest", content);
        response.EnsureSuccessStatusCode();
        await app.App.Services.GetRequiredService<IDocumentStore>().WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));
    }

    public static async Task ShouldBeProblemAsync(this HttpResponseMessage response, int status)
    {
        var body = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBe(status, body);
        response.Content.Headers.ContentType?.MediaType.ShouldBe("application/problem+json", body);
        var problem = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        problem.GetProperty("status").GetInt32().ShouldBe(status);
        problem.GetProperty("title").GetString().ShouldNotBeNullOrWhiteSpace();
    }
}
