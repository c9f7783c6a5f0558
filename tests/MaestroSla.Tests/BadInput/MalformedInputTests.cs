using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MaestroSla.Tests.Dashboard;
using MaestroSla.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Shouldly;
using Xunit.Abstractions;

namespace MaestroSla.Tests.BadInput;

/// <summary>
/// Bad input gets a clear 4xx and changes nothing: every endpoint the app maps (read from its endpoint data sources,
/// so a new one is covered without touching this test) is driven with malformed path, query and body values from a
/// seeded generator; no answer may be a 5xx, no problem document may show a server path, and the event log and every
/// document table hold exactly what they held before.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class MalformedInputTests(ServicesFixture services, ITestOutputHelper output)
{
    private const int Seed = 20261206;
    private const int RequestsPerEndpoint = 30;

    [Fact]
    public async Task every_endpoint_answers_malformed_input_without_a_5xx_without_server_paths_and_without_storing_anything()
    {
        var data = MonthOfTelemetry.PreviousMonth("checkout", "UTC", requests: 2_000, seed: 6);
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            // Nothing may write on its own while the store is compared: no alert evaluation, no rate limit noise.
            ["Sla:Alerts:EvaluateEvery"] = "00:00:00",
            ["Security:RateLimit:Enabled"] = "false",
        });
        await data.PostAsync(app);
        var before = await StoredAsync(store.ConnectionString);

        var endpoints = Endpoints(app);
        endpoints.Count.ShouldBeGreaterThan(20, "the app's endpoint data sources list every endpoint");
        endpoints.ShouldContain(e => e.Route == "/api/reports/{service}" && e.Method == "GET");
        foreach (var endpoint in endpoints)
        {
            output.WriteLine($"{endpoint.Method} {endpoint.Route} query: {string.Join(", ", endpoint.Query)}");
        }

        var random = new Random(Seed);
        var failures = new List<string>();
        var sent = 0;
        foreach (var endpoint in endpoints)
        {
            for (var i = 0; i < RequestsPerEndpoint; i++)
            {
                using var request = Malformed(endpoint, random);
                var described = $"{request.Method} {request.RequestUri!.OriginalString[..Math.Min(300, request.RequestUri.OriginalString.Length)]}";
                using var response = await app.Client.SendAsync(request);
                sent++;
                var body = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{described} → {(int)response.StatusCode}: {Shorten(body)}");
                }
                else if ((int)response.StatusCode >= 400 && ServerPaths.FirstOrDefault(p => body.Contains(p, StringComparison.Ordinal)) is { } path)
                {
                    failures.Add($"{described} → {(int)response.StatusCode} shows the server path {path}: {Shorten(body)}");
                }
            }
        }
        output.WriteLine($"{sent} requests to {endpoints.Count} endpoints");
        failures.ShouldBeEmpty(string.Join("\n", failures.Take(40)));

        var after = await StoredAsync(store.ConnectionString);
        after.ShouldBe(before, "malformed input stored or changed something; newest events: " + await NewestEventsAsync(store.ConnectionString));
        (await app.Client.GetAsync("/healthz")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    /// <summary>Query, and what the 400 must say.</summary>
    private static readonly (string Query, string Reason)[] RefusedQueries =
    [
        ("from=0001-01-01T00:00:00Z&to=9999-12-31T00:00:00Z", "from must lie between"),
        ("from=2026-01-01T00:00:00Z&to=9999-12-31T23:59:59Z", "to must lie between"),
        ("from=2024-01-01T00:00:00Z&to=2025-02-05T00:00:01Z", "at most 400 days"),
        ("month=9999-12", "month must lie between"),
        ("month=0001-01", "month must lie between"),
        ("asOf=0001-01-01T00:00:00Z", "asOf must lie between"),
        ("tz=../../../../etc/passwd", "Unknown time zone"),
        ("tz=Europe%2FBerlin%00", "Unknown time zone"),
        ("endpoint=GET%20%2Fcart%7Cx", "endpoint must not contain '|'"),
        ("endpoint=GET%0A%2Fcart", "endpoint must not contain control characters"),
    ];

    [Fact]
    public async Task report_queries_beyond_the_range_limit_with_extreme_dates_or_names_ingest_would_refuse_are_400()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString);

        foreach (var (query, reason) in RefusedQueries)
        {
            foreach (var path in new[] { "/api/reports/checkout", "/api/reports/checkout/series", "/api/exports/summary", "/api/exports/downtime" })
            {
                if ((path.EndsWith("series", StringComparison.Ordinal) && query.StartsWith("asOf", StringComparison.Ordinal))
                    || (path.StartsWith("/api/exports", StringComparison.Ordinal) && query.StartsWith("endpoint", StringComparison.Ordinal)))
                {
                    continue; // the series has no asOf, the exports no endpoint
                }
                var (status, problem) = await ProblemAsync(app, $"{path}?{query}");
                status.ShouldBe(HttpStatusCode.BadRequest, $"{path}?{query}: {problem}");
                problem.ShouldContain(reason);
            }
        }
    }

    [Fact]
    public async Task the_range_limit_is_configurable_and_names_longer_than_ingest_accepts_are_400()
    {
        await using var store = await IngestHarness.CreateAsync(services, partitions: 1);
        await using var app = await RunningApp.StartAsync(store.ConnectionString, new Dictionary<string, string?>
        {
            ["Reports:MaxRangeDays"] = "10",
            ["Contract:MaxNameLength"] = "20",
            ["Sla:Services:checkout:P95Ms"] = "300",
        });

        var (status, problem) = await ProblemAsync(app, "/api/reports/checkout?from=2026-01-01T00:00:00Z&to=2026-01-11T00:00:01Z");
        status.ShouldBe(HttpStatusCode.BadRequest);
        problem.ShouldContain("at most 10 days (Reports:MaxRangeDays)");
        (await app.Client.GetAsync("/api/reports/checkout?from=2026-01-01T00:00:00Z&to=2026-01-11T00:00:00Z")).StatusCode.ShouldBe(HttpStatusCode.OK);

        var longName = new string('s', 21);
        foreach (var url in new[] { $"/api/reports/{longName}", $"/api/reports/checkout?endpoint={longName}", $"/api/services/{longName}/targets", $"/api/exports/openslo?service={longName}" })
        {
            (status, problem) = await ProblemAsync(app, url);
            status.ShouldBe(HttpStatusCode.BadRequest, url);
            problem.ShouldContain("at most 20 characters (Contract:MaxNameLength)");
        }
        var put = await app.Client.PutAsync($"/api/services/{longName}/targets",
            new StringContent("""{"uptimePercent":99,"availabilityPercent":99,"p95Ms":100,"p99Ms":200,"errorRatePercent":1}""", Encoding.UTF8, "application/json"));
        put.StatusCode.ShouldBe(HttpStatusCode.BadRequest, "a target stream is never created under a name ingest would refuse");
    }

    private static async Task<(HttpStatusCode Status, string Body)> ProblemAsync(RunningApp app, string url)
    {
        using var response = await app.Client.GetAsync(url);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + "…";

    /// <summary>Folders of this machine that no answer may reveal (none of them is ever sent by the generator).</summary>
    private static readonly string[] ServerPaths =
    [
        Repository.Root, AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar), Path.GetTempPath().TrimEnd(Path.DirectorySeparatorChar),
        "/usr/share/zoneinfo", "/var/lib/", "   at MaestroSla.",
    ];

    private sealed record Endpoint(string Method, string Route, RoutePattern Pattern, IReadOnlyList<string> Query, bool TakesBody);

    /// <summary>
    /// Every route endpoint of the running app with its methods, from its endpoint data sources; query parameters from
    /// the API description where the endpoint has one (Wolverine and minimal endpoints do).
    /// </summary>
    private static List<Endpoint> Endpoints(RunningApp app)
    {
        var described = app.App.Services.GetRequiredService<IApiDescriptionGroupCollectionProvider>().ApiDescriptionGroups.Items
            .SelectMany(g => g.Items)
            .ToLookup(d => ((d.HttpMethod ?? "GET").ToUpperInvariant(), "/" + (d.RelativePath ?? "").Split('?')[0].Trim('/')));
        var endpoints = new List<Endpoint>();
        foreach (var route in ((IEndpointRouteBuilder)app.App).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            var raw = "/" + (route.RoutePattern.RawText ?? "").Trim('/');
            var methods = route.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            foreach (var method in methods)
            {
                var descriptions = described[(method, raw)].ToList();
                var query = descriptions.SelectMany(d => d.ParameterDescriptions)
                    .Where(p => p.Source == BindingSource.Query || p.Source == BindingSource.ModelBinding)
                    .Select(p => p.Name)
                    .Where(n => route.RoutePattern.Parameters.All(r => !string.Equals(r.Name, n, StringComparison.OrdinalIgnoreCase)))
                    .Distinct(StringComparer.OrdinalIgnoreCase)
                    .ToList();
                var takesBody = method is "POST" or "PUT" or "PATCH";
                endpoints.Add(new Endpoint(method, raw, route.RoutePattern, query, takesBody));
            }
        }
        return endpoints.DistinctBy(e => (e.Method, e.Route)).OrderBy(e => e.Route, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal).ToList();
    }

    private static readonly string[] Dates =
    [
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01", "9999-12-31T23:59:59.9999999-14:00", "0001-01-01T00:00:00+14:00",
        "-infinity", "infinity", "2026-02-30T00:00:00Z", "2026-13-01", "10000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "9998-12",
        "0000-00", "2026-1", "2026-10-32", "1e309", "NaN",
    ];

    private static readonly string[] Words =
    [
        "", " ", "\0", "\u0001\u0002", "a|b", "checkout|ingest|0", "../../etc/passwd", "..%2f..%2fetc", "\\\\server\\share", "'; drop table mt_events; --",
        "-1", "-99999999999999999999", "99999999999999999999999999", "1e309", "-1e309", "NaN", "true", "null", "{}", "[]", "%",
        "\u202e\u0646\u0635", "\ud800", "😀😀", "<script>alert(1)</script>", "${jndi:ldap://x}", "0x7fffffff", "2147483648", "-2147483649",
        "Europe/../../../etc/passwd", "Mars/Olympus", "\t\r\n",
    ];

    private static string Huge(Random random) => new((char)random.Next('a', 'z' + 1), random.Next(201, 6_000));

    private static string Value(Random random) => random.Next(4) switch
    {
        0 => Dates[random.Next(Dates.Length)],
        1 => Huge(random),
        _ => Words[random.Next(Words.Length)],
    };

    private static HttpRequestMessage Malformed(Endpoint endpoint, Random random)
    {
        var path = new StringBuilder();
        foreach (var segment in endpoint.Pattern.PathSegments)
        {
            path.Append('/');
            foreach (var part in segment.Parts)
            {
                path.Append(part switch
                {
                    RoutePatternLiteralPart literal => literal.Content,
                    RoutePatternParameterPart => Escape(random.Next(5) == 0 ? "checkout" : Value(random)),
                    RoutePatternSeparatorPart separator => separator.Content,
                    _ => "",
                });
            }
        }
        if (path.Length == 0)
        {
            path.Append('/');
        }

        // Declared query parameters, each given a malformed value three times in four and always at least one (left
        // out, a parameter may mean "the default", and a request of defaults only is no bad input: a backup would run);
        // plus, at times, one the endpoint never declared.
        var query = new List<string>();
        var forced = endpoint.Query.Count == 0 ? -1 : random.Next(endpoint.Query.Count);
        for (var index = 0; index < endpoint.Query.Count; index++)
        {
            if (index == forced || random.Next(4) != 0)
            {
                query.Add($"{endpoint.Query[index]}={Escape(Value(random))}");
            }
        }
        if (query.Count == 0 || random.Next(3) == 0)
        {
            query.Add($"{Escape(Words[random.Next(Words.Length)])}={Escape(Value(random))}");
        }
        var request = new HttpRequestMessage(new HttpMethod(endpoint.Method), path + "?" + string.Join('&', query));
        if (endpoint.TakesBody)
        {
            var (body, type) = Body(random);
            request.Content = new ByteArrayContent(body);
            if (type is not null)
            {
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
            }
        }
        return request;
    }

    private static string Escape(string value) => Uri.EscapeDataString(value.Replace("\ud800", "\ufffd", StringComparison.Ordinal));

    /// <summary>Bodies no endpoint can accept: broken, deep, of the wrong type or shape, or huge.</summary>
    private static (byte[] Body, string? ContentType) Body(Random random)
    {
        string text;
        switch (random.Next(12))
        {
            case 0:
                text = "";
                break;
            case 1:
                var depth = random.Next(65, 5_000);
                text = new string('[', depth) + new string(']', depth);
                break;
            case 2:
                var nesting = random.Next(65, 3_000);
                text = string.Concat(Enumerable.Repeat("{\"a\":", nesting)) + "1" + new string('}', nesting);
                break;
            case 3:
                text = "{\"uptimePercent\": \"" + Value(random).Replace("\"", "", StringComparison.Ordinal) + "\", \"p95Ms\": [1,2]}";
                break;
            case 4:
                text = "{\"uptimePercent\": 1e400, \"availabilityPercent\": -1e400, \"p95Ms\": NaN}";
                break;
            case 5:
                text = "[{\"v\":1,\"type\":\"request\",\"service\":\"\\u0000\",\"endpoint\":\"" + Huge(random) + "\",\"latencyMs\":\"fast\",\"ts\":\"" + Dates[random.Next(Dates.Length)] + "\"}]";
                break;
            case 6:
                text = "{\"backupId\": 5, \"pointInTime\": \"" + Dates[random.Next(Dates.Length)] + "\", \"targetConnectionString\": [], \"force\": \"yes\"}";
                break;
            case 7:
                text = "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: \"" + Value(random).Replace("\"", "", StringComparison.Ordinal) + "\"}\nspec: [unclosed";
                break;
            case 8:
                text = "\"" + Huge(random) + "\"";
                break;
            case 9:
                text = "{\"a\":1,\"a\":2,\"b\":" + JsonSerializer.Serialize(Value(random)) + ",";
                break;
            case 10:
                var bytes = new byte[random.Next(1, 4_000)];
                random.NextBytes(bytes);
                return (bytes, random.Next(2) == 0 ? "application/json" : "application/octet-stream");
            default:
                text = "null";
                break;
        }
        string?[] types = ["application/json", "application/json", "application/yaml", "text/plain", "application/x-www-form-urlencoded", null];
        return (Encoding.UTF8.GetBytes(text), types[random.Next(types.Length)]);
    }

    /// <summary>Type and stream of the last events appended, to name what a malformed request stored.</summary>
    private static async Task<string> NewestEventsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var newest = new NpgsqlCommand("select string_agg(type || ' in ' || stream_id, '; ') from (select type, stream_id from maestro.mt_events order by seq_id desc limit 3) e", connection);
        return (string)(await newest.ExecuteScalarAsync())!;
    }

    /// <summary>Rows of the event log and of every document table: what "stored nothing" is checked against.</summary>
    private static async Task<Dictionary<string, long>> StoredAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(
            "select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables " +
            "where table_type = 'BASE TABLE' and (table_name = 'mt_events' or table_name = 'mt_streams' or table_name like 'mt_doc_%') order by 1", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }
        tables.ShouldContain(t => t.EndsWith(".mt_events", StringComparison.Ordinal));
        var counts = new Dictionary<string, long>();
        foreach (var table in tables)
        {
            await using var count = new NpgsqlCommand($"select count(*) from {table}", connection);
            counts[table] = (long)(await count.ExecuteScalarAsync())!;
        }
        counts.Values.Sum().ShouldBeGreaterThan(0);
        return counts;
    }
}
