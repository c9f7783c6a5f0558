using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MaestroSla.Api.Store;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Runs;
using MaestroSla.Backup.Targets;
using MaestroSla.Contracts.Reports;
using MaestroSla.Ingest.Storage;
using MaestroSla.Sla.Reports;
using MaestroSla.Sla.Targets;
using MaestroSla.Tests.Infrastructure;
using MaestroSla.Tests.Reports;
using Marten;
using Marten.Events;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;

namespace MaestroSla.Tests.Backup;

public static class TargetKinds
{
    public const string Folder = "folder";
    public const string S3 = "s3";
}

/// <summary>A fresh, empty backup target of either kind, and the settings that point the app at it.</summary>
public sealed class TestTarget : IDisposable
{
    private readonly string? _folder;

    private TestTarget(string kind, IBackupTarget target, S3TargetOptions? s3, string? folder)
    {
        Kind = kind;
        Target = target;
        S3 = s3;
        _folder = folder;
    }

    public string Kind { get; }
    public IBackupTarget Target { get; }
    public S3TargetOptions? S3 { get; }

    public static async Task<TestTarget> CreateAsync(ServicesFixture services, string kind, bool smallParts = true)
    {
        if (kind == TargetKinds.S3)
        {
            var options = (await services.S3Async()).TargetOptions($"t-{Guid.NewGuid():N}/", smallParts);
            return new TestTarget(kind, new S3BackupTarget(options), options, null);
        }
        var folder = Directory.CreateTempSubdirectory("maestrosla-backups-").FullName;
        return new TestTarget(kind, new FolderBackupTarget(folder), null, folder);
    }

    public Dictionary<string, string?> Settings(string section = "Backup") => S3 is { } s3
        ? new()
        {
            [$"{section}:Target"] = "s3",
            [$"{section}:S3:Bucket"] = s3.Bucket,
            [$"{section}:S3:Prefix"] = s3.Prefix,
            [$"{section}:S3:ServiceUrl"] = s3.ServiceUrl,
            [$"{section}:S3:ForcePathStyle"] = "true",
            [$"{section}:S3:AccessKey"] = s3.AccessKey,
            [$"{section}:S3:SecretKey"] = s3.SecretKey,
            [$"{section}:S3:MultipartThreshold"] = s3.MultipartThreshold.ToString(CultureInfo.InvariantCulture),
            [$"{section}:S3:PartSize"] = s3.PartSize.ToString(CultureInfo.InvariantCulture),
        }
        : new()
        {
            [$"{section}:Target"] = "folder",
            [$"{section}:Folder"] = _folder,
        };

    public void Dispose()
    {
        (Target as IDisposable)?.Dispose();
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}

/// <summary>
/// The real app on its own database with a backup target, fed in rounds through both ingest paths: generated
/// billing telemetry over HTTP and request metrics (plus malformed messages, which become dead letters and
/// advance stored offsets) through Kafka with a real consumer.
/// </summary>
public sealed class BackupScenario : IAsyncDisposable
{
    public const string Zone = "America/New_York";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly List<(int From, int Count)> _billingRounds;
    private long _requestsSent;
    private int _deadLettersSent;
    private long _messagesProduced;

    private BackupScenario(ServicesFixture services, IngestHarness harness, RunningApp app, TestTarget target, GeneratedTelemetry data)
    {
        Services = services;
        Harness = harness;
        App = app;
        Target = target;
        Data = data;
        var third = data.Requests.Count / 3;
        _billingRounds = [(0, third), (third, third), (2 * third, data.Requests.Count - (2 * third))];
        // Kafka traffic lies within the last three hours: its reports cover that window, fixed once.
        KafkaWindow = (DateTimeOffset.UtcNow.AddHours(-4), DateTimeOffset.UtcNow.AddHours(1));
    }

    public ServicesFixture Services { get; }
    public IngestHarness Harness { get; }
    public RunningApp App { get; }
    public TestTarget Target { get; }
    public GeneratedTelemetry Data { get; }
    public (DateTimeOffset From, DateTimeOffset To) KafkaWindow { get; }
    public IDocumentStore Store => App.App.Services.GetRequiredService<IDocumentStore>();
    public HttpClient Client => App.Client;

    public HttpClient CreateClientWithoutKey() => App.CreateClient(apiKey: null);

    public static async Task<BackupScenario> StartAsync(
        ServicesFixture services, string targetKind, int segmentEvents = 25, IDictionary<string, string?>? settings = null, int seed = 53)
    {
        var harness = await IngestHarness.CreateAsync(services, partitions: 4);
        var target = await TestTarget.CreateAsync(services, targetKind);
        var all = target.Settings();
        all["Backup:SegmentEvents"] = segmentEvents.ToString(CultureInfo.InvariantCulture);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var app = await RunningApp.StartAsync(harness.ConnectionString, all);
        await harness.StartConsumerAsync();
        return new BackupScenario(services, harness, app, target, GeneratedTelemetry.AroundLastMonthBoundary(Zone, seed));
    }

    /// <summary>
    /// Round 0 posts the billing downtime and health checks too; round 1 also sets billing's targets (an event
    /// in another stream); rounds 0 and 2 send malformed messages. Returns once everything is stored and projected.
    /// </summary>
    public async Task IngestRoundAsync(int round)
    {
        var (from, count) = _billingRounds[round];
        if (round == 0)
        {
            await Data.PostAsync(Client, count);
        }
        else
        {
            await GeneratedTelemetry.PostRequestsAsync(Client, Data.Requests.Skip(from).Take(count).ToList());
        }
        _requestsSent += count;

        var traffic = TestTraffic.Requests(2_000, DateTimeOffset.UtcNow.AddMinutes(-1), services: 3, seed: 100 + round);
        var messages = new List<byte[]>(traffic.Messages);
        if (round != 1)
        {
            messages.Insert(messages.Count / 2, Encoding.UTF8.GetBytes($"not json, round {round}"));
            messages.Add(Encoding.UTF8.GetBytes($"{{\"v\":1,\"type\":\"request\",\"service\":\"svc-0\",\"round\":{round}}}"));
            _deadLettersSent += 2;
        }
        Harness.Produce(messages);
        _requestsSent += traffic.TotalRequests;
        _messagesProduced += messages.Count;

        if (round == 1)
        {
            var put = await Client.PutAsJsonAsync($"/api/services/{GeneratedTelemetry.Service}/targets",
                new { uptimePercent = 99.5, availabilityPercent = 99.0, p95Ms = 150.0, p99Ms = 400.0, errorRatePercent = 2.0 });
            put.StatusCode.ShouldBe(HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        }

        (await Harness.WaitForStoredRequestsAsync(_requestsSent, TimeSpan.FromSeconds(60))).ShouldBe(_requestsSent);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountAsync(Harness.ConnectionString, "select count(*) from maestro.mt_doc_deadletter") < _deadLettersSent && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        (await CountAsync(Harness.ConnectionString, "select count(*) from maestro.mt_doc_deadletter")).ShouldBe(_deadLettersSent);
        // The consumer has stored every message; its offsets must be stored with them before a backup is taken.
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountAsync(Harness.ConnectionString, "select coalesce(sum(next_offset), 0) from maestro.kafka_offsets") < _messagesProduced && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        (await CountAsync(Harness.ConnectionString, "select coalesce(sum(next_offset), 0) from maestro.kafka_offsets")).ShouldBe(_messagesProduced);
        await WaitForProjectionsAsync(Store);
    }

    /// <summary>An instant strictly between what is stored now and whatever is stored next.</summary>
    public static async Task<DateTimeOffset> MomentAsync()
    {
        await Task.Delay(100);
        var moment = DateTimeOffset.UtcNow;
        await Task.Delay(100);
        return moment;
    }

    public async Task<BackupRun> BackupAsync(BackupType type)
    {
        var response = await Client.PostAsync($"/api/admin/backups?type={type.ToString().ToLowerInvariant()}", null);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        var run = JsonSerializer.Deserialize<BackupRun>(body, Json)!;
        run.Status.ShouldBe(RunStatus.Succeeded);
        return run;
    }

    public async Task<(HttpStatusCode Status, string Body)> PostRestoreAsync(string? backupId, DateTimeOffset? pointInTime, string target, bool force = false)
    {
        var response = await Client.PostAsJsonAsync("/api/admin/restores", new { backupId, pointInTime, targetConnectionString = target, force });
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async Task<RestoreRun> RestoreAsync(string? backupId, DateTimeOffset? pointInTime, string target, bool force = false)
    {
        var (status, body) = await PostRestoreAsync(backupId, pointInTime, target, force);
        status.ShouldBe(HttpStatusCode.OK, body);
        var run = JsonSerializer.Deserialize<RestoreRun>(body, Json)!;
        run.Status.ShouldBe(RunStatus.Succeeded);
        return run;
    }

    public static Task WaitForProjectionsAsync(IDocumentStore store) => store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(60));

    public static DocumentStore OpenStore(string connectionString) => new(MaestroStore.Configure(new StoreOptions(), connectionString));

    /// <summary>
    /// Every report the tests compare, serialized: billing's month in New York time, a range across the month
    /// boundary, one endpoint, the month after; and the Kafka-fed services over their window.
    /// </summary>
    public async Task<List<string>> ReportsAsync(IDocumentStore store, DateTimeOffset? asOf, bool figuresOnly = false)
    {
        var month = Data.BoundaryLocal.AddMonths(-1).ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var (monthPeriod, _) = ReportPeriod.Resolve(month, null, null, Zone, DateTimeOffset.UtcNow);
        // The whole current month: the elapsed part ends with the minute, and the runs compared differ in minute.
        var (currentPeriod, _) = ReportPeriod.Resolve(null, null, null, Zone, DateTimeOffset.UtcNow);
        var afterPeriod = currentPeriod! with { To = currentPeriod.ScheduledTo ?? currentPeriod.To, ScheduledTo = null };
        var rangeFrom = Data.Boundary.AddDays(-1).AddHours(-3).AddMinutes(-17);
        var rangeTo = Data.Boundary.AddDays(1).AddHours(5).AddMinutes(43);
        var options = new SlaOptions();

        await using var session = store.QuerySession();
        var reports = new List<SlaReport>
        {
            await SlaReportBuilder.BuildAsync(session, options, GeneratedTelemetry.Service, monthPeriod!.From, monthPeriod.To, Zone, asOf, default),
            await SlaReportBuilder.BuildAsync(session, options, GeneratedTelemetry.Service, rangeFrom, rangeTo, Zone, asOf, default),
            await SlaReportBuilder.BuildAsync(session, options, GeneratedTelemetry.Service, rangeFrom, rangeTo, Zone, asOf, default, "POST /invoices"),
            await SlaReportBuilder.BuildAsync(session, options, GeneratedTelemetry.Service, afterPeriod.From, afterPeriod.To, Zone, asOf, default),
        };
        for (var service = 0; service < 3; service++)
        {
            reports.Add(await SlaReportBuilder.BuildAsync(session, options, $"svc-{service}", KafkaWindow.From, KafkaWindow.To, "UTC", asOf, default));
        }
        return reports
            .Select(r => figuresOnly ? r with { AsOf = null, ComputedAtSequence = 0 } : r)
            .Select(r => JsonSerializer.Serialize(r, Json))
            .ToList();
    }

    public static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>Rows of a query as text, for comparing tables between the live and a restored database.</summary>
    public static async Task<List<string>> RowsAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(string.Join(" | ", values.Select(v => v is DateTime d ? d.ToString("O", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture))));
        }
        return rows;
    }

    public const string EventRows =
        "select seq_id, id, stream_id, version, md5(data::text), type, timestamp, tenant_id, mt_dotnet_type, is_archived from maestro.mt_events";

    public const string StreamRows = "select id, type, version, tenant_id from maestro.mt_streams order by id";

    public const string DeadLetterRows = "select id, md5(data::text), mt_last_modified, mt_dotnet_type from maestro.mt_doc_deadletter";

    public const string OffsetRows = "select consumer_group, topic, partition, next_offset from maestro.kafka_offsets order by 1, 2, 3";

    public const string HistoryRows = "select id, consumer_group, topic, partition, next_offset, committed_at from maestro.kafka_offset_history";

    /// <summary>The stored offsets as of T the way issue 4 defines them: the last history row per partition by then.</summary>
    public const string OffsetsAsOfRows = """
        select distinct on (consumer_group, topic, partition) consumer_group, topic, partition, next_offset
        from maestro.kafka_offset_history where committed_at <= $1
        order by consumer_group, topic, partition, id desc
        """;

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Harness.DisposeAsync();
        Target.Dispose();
    }
}
