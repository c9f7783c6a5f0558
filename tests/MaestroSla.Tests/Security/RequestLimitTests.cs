using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using MaestroSla.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Shouldly;

namespace MaestroSla.Tests.Security;

[Collection(SharedServices.Name)]
public sealed class RequestLimitTests(ServicesFixture services)
{
    [Fact]
    public async Task a_body_over_the_limit_is_refused_with_413_whether_its_length_is_declared_or_not()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString, new Dictionary<string, string?>
        {
            ["Security:MaxIngestBodyBytes"] = "4000",
            ["Security:MaxBodyBytes"] = "300",
        });
        var message = Encoding.UTF8.GetString(TestTraffic.Request("svc-a", "GET /a", 5, 200, DateTimeOffset.UtcNow.AddMinutes(-1)));
        string Batch(int count) => "[" + string.Join(",", Enumerable.Repeat(message, count)) + "]";
        Batch(10).Length.ShouldBeLessThan(4000);
        Batch(40).Length.ShouldBeGreaterThan(4000);

        using (var small = new StringContent(Batch(10), Encoding.UTF8, "application/json"))
        {
            (await app.Client.PostAsync("/api/ingest", small)).StatusCode.ShouldBe(HttpStatusCode.OK, "ingest has its own, larger limit");
        }
        using (var declared = new HttpRequestMessage(HttpMethod.Post, "/api/ingest"))
        {
            declared.Content = new StringContent(Batch(40), Encoding.UTF8, "application/json");
            var response = await app.Client.SendAsync(declared);
            await response.ShouldBeProblemAsync(413);
            (await response.Content.ReadAsStringAsync()).ShouldContain("at most 4000 bytes");
        }
        using (var waiting = new HttpRequestMessage(HttpMethod.Post, "/api/ingest"))
        {
            // A careful client asks first and sends nothing once refused.
            waiting.Headers.ExpectContinue = true;
            waiting.Content = new StringContent(Batch(400), Encoding.UTF8, "application/json");
            await (await app.Client.SendAsync(waiting)).ShouldBeProblemAsync(413);
        }
        await (await SendChunkedAsync(app.Client, Batch(40))).ShouldBeProblemAsync(413);
        var targets = "{\"uptimePercent\":99.9" + new string(' ', 400) + "}";
        using (var put = new StringContent(targets, Encoding.UTF8, "application/json"))
        {
            await (await app.Client.PutAsync("/api/services/svc-a/targets", put)).ShouldBeProblemAsync(413);
        }
        // Nothing of the refused batches was stored.
        // (A range within Reports:MaxRangeDays around the batch's timestamps.)
        var report = await app.Client.GetStringAsync(
            $"/api/reports/svc-a?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-2).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(1).ToString("O"))}&asOf="
            + Uri.EscapeDataString(DateTimeOffset.UtcNow.AddSeconds(1).ToString("O")));
        report.ShouldContain("\"total\":10,");
    }

    /// <summary>
    /// A body without a declared length is refused once the endpoint has read past the limit; Kestrel then closes the
    /// connection, and a client still writing may see the close before the answer (then it asks again).
    /// </summary>
    private static async Task<HttpResponseMessage> SendChunkedAsync(HttpClient client, string body)
    {
        for (var attempt = 1; ; attempt++)
        {
            var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/ingest") { Content = content };
            request.Headers.TransferEncodingChunked = true;
            try
            {
                return await client.SendAsync(request);
            }
            catch (HttpRequestException) when (attempt < 5)
            {
            }
        }
    }

    [Fact]
    public async Task a_key_over_its_rate_limit_gets_429_with_retry_after_while_other_keys_go_on()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        using var script = app.CreateClient(SecuredApp.ThrottledKey);

        for (var i = 0; i < 3; i++)
        {
            (await script.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK, $"request {i + 1} of the 3 allowed");
        }
        var refused = await script.GetAsync("/api/status");
        await refused.ShouldBeProblemAsync(429);
        refused.Headers.RetryAfter.ShouldNotBeNull();
        refused.Headers.RetryAfter!.Delta!.Value.ShouldBeInRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        (await refused.Content.ReadAsStringAsync()).ShouldContain("API key 'script'");

        (await app.Client.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK, "limits are per key");
        using var analyst = app.CreateClient(SecuredApp.ReadKey);
        (await analyst.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.OK);
        using var anonymous = app.CreateClient(null);
        (await anonymous.GetAsync("/healthz")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Fact]
    public async Task every_4xx_answer_is_problem_details()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString);
        using var anonymous = app.CreateClient(null);
        using var reader = app.CreateClient(SecuredApp.ReadKey);

        await (await anonymous.GetAsync("/api/status")).ShouldBeProblemAsync(401);
        await (await reader.GetAsync("/api/dead-letters")).ShouldBeProblemAsync(403);
        await (await app.Client.GetAsync("/api/no-such-thing")).ShouldBeProblemAsync(404);
        await (await app.Client.DeleteAsync("/api/status")).ShouldBeProblemAsync(405);
        await (await app.Client.GetAsync("/api/reports/svc-a?month=2026-13")).ShouldBeProblemAsync(400);
        await (await app.Client.GetAsync("/api/reports/svc-a?asOf=yesterday")).ShouldBeProblemAsync(400);
        await (await app.Client.GetAsync("/api/dead-letters?limit=many")).ShouldBeProblemAsync(400);
        using var broken = new StringContent("{not json", Encoding.UTF8, "application/json");
        await (await app.Client.PutAsync("/api/services/svc-a/targets", broken)).ShouldBeProblemAsync(400);
        using var notArray = new StringContent("{}", Encoding.UTF8, "application/json");
        await (await app.Client.PostAsync("/api/ingest", notArray)).ShouldBeProblemAsync(400);
    }

    [Fact]
    public async Task api_keys_never_reach_the_logs_even_at_trace_level()
    {
        var connectionString = await services.CreateDatabaseAsync();
        await using var app = await SecuredApp.StartAsync(connectionString, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        });
        var logs = new CapturedLogs();
        app.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);

        using (var reader = app.CreateClient(SecuredApp.ReadKey))
        {
            // svc-a recorded nothing here: its report would be 404 (unknown service); its targets are known.
            (await reader.GetAsync("/api/services/svc-a/targets")).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await reader.GetAsync("/api/dead-letters")).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }
        using (var unknown = app.CreateClient(SecuredApp.UnknownKey))
        {
            (await unknown.GetAsync("/api/status")).StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/status"))
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"ApiKey {SecuredApp.IngestKey}");
            (await app.CreateClient(null).SendAsync(request)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        }

        var lines = logs.Lines.ToList();
        lines.ShouldContain(l => l.Contains("Refused an unknown API key"), "the capture must see the security log lines for this test to mean anything");
        lines.Count.ShouldBeGreaterThan(20);
        foreach (var secret in new[] { SecuredApp.ReadKey, SecuredApp.UnknownKey, SecuredApp.IngestKey, RunningApp.AdminKey })
        {
            lines.ShouldAllBe(l => !l.Contains(secret, StringComparison.Ordinal), secret);
        }
    }

    private sealed class CapturedLogs : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull
            {
                lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(";", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{category} {logLevel}: {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
