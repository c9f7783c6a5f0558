using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

[Collection(SharedServices.Name)]
public sealed class RestoreTargetConnectionTests(ServicesFixture services)
{
    [Fact]
    public async Task a_restore_target_connection_string_npgsql_cannot_use_is_a_400_naming_where_it_came_from_and_nothing_runs()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Backup:RestoreTargets:broken"] = "Host=127.0.0.1;Port=not-a-port;Username=postgres",
            ["Backup:RestoreTargets:nohost"] = "Database=maestrosla;Username=postgres",
        });

        await ShouldBeBadRequestAsync(app, new { targetConnectionString = "Host=127.0.0.1;Port=abc;Password=secret-pw" }, "targetConnectionString");
        await ShouldBeBadRequestAsync(app, new { target = "broken" }, "Backup:RestoreTargets:broken");
        await ShouldBeBadRequestAsync(app, new { target = "nohost" }, "Backup:RestoreTargets:nohost");

        var runs = JsonDocument.Parse(await app.Client.GetStringAsync("/api/admin/backups/runs"));
        runs.RootElement.GetProperty("restores").GetArrayLength().ShouldBe(0, "a refused request starts no run");
    }

    private static async Task ShouldBeBadRequestAsync(RunningApp app, object body, string field)
    {
        using var response = await app.Client.PostAsJsonAsync("/api/admin/restores", body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        using var problem = JsonDocument.Parse(text);
        problem.RootElement.GetProperty("title").GetString().ShouldBe($"{field} is not a usable PostgreSQL connection string");
        problem.RootElement.GetProperty("field").GetString().ShouldBe(field);
        text.ShouldNotContain("secret-pw", customMessage: "the connection string may hold a password: it is never echoed");
    }
}
