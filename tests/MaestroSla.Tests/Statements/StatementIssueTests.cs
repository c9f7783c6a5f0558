using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MaestroSla.Contracts.Messages;
using MaestroSla.Contracts.Statements;
using MaestroSla.Tests.Backup;
using MaestroSla.Tests.Cli;
using MaestroSla.Tests.Infrastructure;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.Statements;

/// <summary>
/// Issued means reproducible: the issued document comes back byte for byte (also from a database restored to a moment past
/// the issue), and the live statement lists what changed since, each change with the figures and the credit before and after.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class StatementIssueTests(ServicesFixture services, ITestOutputHelper output)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task late_data_windows_and_a_new_contract_version_amend_an_issued_statement_which_stays_byte_for_byte_as_issued()
    {
        var data = ContractMonth.Previous();
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);
        await data.PostAsync(app);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract());
        var url = $"/api/contracts/acme/statements/{data.Month}";

        var (sha, issuedBytes) = await ContractMonth.IssueAsync(app, url);
        var issued = JsonSerializer.Deserialize<Statement>(issuedBytes, Json)!;
        issued.Issued!.By.ShouldBe("tests-admin");
        issued.Issued.Sha256.ShouldBeNull("a document cannot hold its own hash");
        issued.CreditPercent.ShouldBe(10);

        // Issued from the event log as of the moment of issue; the live statement (from the projections) says the same.
        var live = await StatementTests.GetAsync(app, url);
        live.Issued!.Sha256.ShouldBe(sha);
        live.Amendments.ShouldBeEmpty();
        Figures(live).ShouldBe(Figures(issued));
        await Task.Delay(50);
        var afterIssue = DateTimeOffset.UtcNow;
        await Task.Delay(50);

        // 1. Late requests: 50 failures of alpha on day 15.
        await ContractMonth.PostMessagesAsync(app, Enumerable.Range(0, 50).Select(_ =>
            Encoding.UTF8.GetString(TelemetryWriter.Request(ContractMonth.Alpha, "GET /x", 60, 500, data.At(15, 12, 0, 5)))));
        await ContractMonth.WaitAsync(app);
        await Task.Delay(50);
        var afterLate = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        // 2. A window over them, added after the fact; 3. cancelled again.
        var window = await ContractMonth.ScheduleAsync(app, ContractMonth.Alpha, data.At(15, 11), data.At(15, 13), "emergency");
        await Task.Delay(50);
        (await app.Client.DeleteAsync($"/api/maintenance/{window}")).StatusCode.ShouldBe(HttpStatusCode.NoContent);
        // 4. Eight hours of downtime reported late; 5. a new contract version for that month.
        await ContractMonth.PostMessagesAsync(app, [Encoding.UTF8.GetString(TelemetryWriter.Downtime(ContractMonth.Alpha, data.At(25, 0), data.At(25, 8), "outage"))]);
        await ContractMonth.WaitAsync(app);
        await Task.Delay(50);
        var contract = JsonSerializer.SerializeToNode(data.Contract(), Json)!;
        contract["credits"]![1]!["percent"] = 50.0;
        await ContractMonth.PutContractAsync(app, "acme", contract);

        var amended = await StatementTests.GetAsync(app, url);
        foreach (var a in amended.Amendments)
        {
            output.WriteLine($"{a.Kind}: {a.Description}; credit {a.CreditPercentBefore} → {a.CreditPercentAfter}; " +
                string.Join(", ", a.Changes.Select(c => $"{c.Figure} {c.Before} → {c.After}")));
        }
        amended.Amendments.Select(a => (a.Kind, a.CreditPercentBefore ?? -1, a.CreditPercentAfter ?? -1)).ShouldBe(
        [
            ("late requests", 10.0, 10.0),
            ("maintenance added", 10.0, 10.0),
            ("maintenance cancelled", 10.0, 10.0),
            ("downtime", 10.0, 25.0),
            ("contract version", 25.0, 50.0),
        ]);
        var late = amended.Amendments[0];
        late.Description.ShouldContain("50 requests of alpha");
        Change(late, "services.alpha.requests").ShouldBe((141.0, 191.0));
        Change(late, "services.alpha.errors").ShouldBe((21.0, 71.0));
        Change(late, "services.(combined).requests").ShouldBe((356.0, 406.0));
        Change(late, "metrics.availability.actual").ShouldBe((100.0 * 308 / 309, 100.0 * 308 / 359));
        late.MetBefore.ShouldBe(false);
        late.MetAfter.ShouldBe(false);
        var added = amended.Amendments[1];
        added.Description.ShouldContain("emergency");
        Change(added, "services.alpha.excludedRequests").ShouldBe((40.0, 90.0));
        Change(added, "services.(combined).maintenanceSeconds").ShouldBe((10800.0, 18000.0));
        Change(amended.Amendments[2], "services.alpha.excludedRequests").ShouldBe((90.0, 40.0));
        Change(amended.Amendments[3], "services.(combined).downtimeSeconds").ShouldBe((4800.0, 4800.0 + (8 * 3600)));
        var p = data.Seconds;
        var (uptimeBefore, uptimeAfter) = Change(amended.Amendments[3], "services.(combined).uptimePercent.adjusted");
        uptimeBefore.ShouldBe(100 * (p - 10800 - 3000) / (p - 10800), 1e-9);
        uptimeAfter.ShouldBe(100 * (p - 10800 - 3000 - 28800) / (p - 10800), 1e-9);
        Change(amended.Amendments[4], "contractVersion").ShouldBe((1.0, 2.0));
        amended.CreditPercent.ShouldBe(50);

        // As of a moment between the changes, only the earlier ones; the issued document never changes.
        (await StatementTests.GetAsync(app, $"{url}?asOf={Uri.EscapeDataString(afterIssue.ToString("O"))}")).Amendments.ShouldBeEmpty();
        (await StatementTests.GetAsync(app, $"{url}?asOf={Uri.EscapeDataString(afterLate.ToString("O"))}")).Amendments.Select(a => a.Kind).ShouldBe(["late requests"]);
        (await app.Client.GetByteArrayAsync(url + "?asIssued=true")).ShouldBe(issuedBytes);

        // The command line shows the same statement, and the issued document untouched.
        var address = app.Client.BaseAddress!.ToString();
        var (tableExit, table) = await CliTests.RunAsync("statement", "acme", data.Month, "--url", address);
        output.WriteLine(table);
        tableExit.ShouldBe(0, table);
        table.ShouldContain($"Statement acme {data.Month}");
        table.ShouldContain("contract: BREACHED  credit 50.00 %");
        table.ShouldContain("5 amendment(s) since");
        var (jsonExit, json) = await CliTests.RunAsync("statement", "acme", data.Month, "--as-issued", "--format", "json", "--url", address);
        jsonExit.ShouldBe(0, json);
        json.ShouldBe(Encoding.UTF8.GetString(issuedBytes) + "\n");

        // The month in progress cannot be issued.
        var current = data.First.AddMonths(1).ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        (await app.Client.PostAsync($"/api/contracts/acme/statements/{current}/issue", null)).StatusCode.ShouldBe(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task a_restore_to_a_moment_past_the_issue_returns_the_issued_document_byte_for_byte()
    {
        var data = ContractMonth.Previous();
        using var target = await TestTarget.CreateAsync(services, TargetKinds.Folder);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, target.Settings());
        await data.PostAsync(app);
        await ContractMonth.PutContractAsync(app, "acme", data.Contract());
        var url = $"/api/contracts/acme/statements/{data.Month}";
        (await app.Client.PostAsync(url + "/issue", null)).StatusCode.ShouldBe(HttpStatusCode.Created);
        var issuedBytes = await app.Client.GetByteArrayAsync(url + "?asIssued=true");
        var moment = await BackupScenario.MomentAsync();
        // After the moment: another version, which the restore must leave out.
        await ContractMonth.PutContractAsync(app, "acme", data.Contract(uptime: 99.0));
        var backup = await app.Client.PostAsync("/api/admin/backups?type=full", null);
        backup.StatusCode.ShouldBe(HttpStatusCode.OK, await backup.Content.ReadAsStringAsync());

        var restoredConnection = await services.CreateDatabaseAsync();
        var restore = await app.Client.PostAsJsonAsync("/api/admin/restores", new { pointInTime = moment, targetConnectionString = restoredConnection });
        restore.StatusCode.ShouldBe(HttpStatusCode.OK, await restore.Content.ReadAsStringAsync());

        await using var restored = await RunningApp.StartAsync(restoredConnection);
        var fromRestored = await restored.Client.GetAsync(url + "?asIssued=true");
        fromRestored.StatusCode.ShouldBe(HttpStatusCode.OK);
        (await fromRestored.Content.ReadAsByteArrayAsync()).ShouldBe(issuedBytes);
        fromRestored.Headers.GetValues("X-Statement-Sha256").Single().ShouldBe(Convert.ToHexStringLower(SHA256.HashData(issuedBytes)));
        JsonDocument.Parse(await restored.Client.GetStringAsync("/api/contracts/acme")).RootElement
            .GetProperty("versions").GetArrayLength().ShouldBe(1, "the version recorded after the moment is not restored");
    }

    /// <summary>A changed figure's before and after (NaN for none).</summary>
    private static (double Before, double After) Change(StatementAmendment amendment, string figure)
    {
        var change = amendment.Changes.SingleOrDefault(c => c.Figure == figure);
        change.ShouldNotBeNull($"{amendment.Kind} changed {string.Join(", ", amendment.Changes.Select(c => c.Figure))}");
        return (change.Before ?? double.NaN, change.After ?? double.NaN);
    }

    /// <summary>A statement's figures, without what differs between asking now and as of the moment of issue.</summary>
    private static string Figures(Statement s) => JsonSerializer.Serialize(s with { AsOf = null, Issued = null, Amendments = [] }, Json);
}
