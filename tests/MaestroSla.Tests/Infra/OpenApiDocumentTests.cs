using System.Net;
using System.Text.Json;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Infra;

[Collection(SharedServices.Name)]
public sealed class OpenApiDocumentTests(ServicesFixture services)
{
    [Fact]
    public async Task the_openapi_document_describes_the_wolverine_endpoints_with_their_api_key_and_the_docs_page_serves_it()
    {
        await using var app = await RunningApp.StartAsync(await services.CreateDatabaseAsync());
        using var anonymous = app.CreateClient(null);

        var response = await anonymous.GetAsync("/openapi/v1.json");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, body);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        root.GetProperty("openapi").GetString().ShouldStartWith("3.");
        var paths = root.GetProperty("paths");
        var expected = new (string Path, string Method)[]
        {
            ("/api/ingest", "post"),
            ("/api/reports/{service}", "get"),
            ("/api/status", "get"),
            ("/api/services/{service}/targets", "get"),
            ("/api/services/{service}/targets", "put"),
            ("/api/dead-letters", "get"),
        };
        foreach (var (path, method) in expected)
        {
            paths.TryGetProperty(path, out var item).ShouldBeTrue($"{path} is missing; paths: {string.Join(", ", paths.EnumerateObject().Select(p => p.Name))}");
            item.TryGetProperty(method, out var operation).ShouldBeTrue($"{method} {path}");
            operation.GetProperty("security").GetArrayLength().ShouldBe(1, $"{method} {path} must say it needs the API key");
        }
        paths.GetProperty("/api/reports/{service}").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString()).ShouldContain("asOf");
        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        scheme.GetProperty("type").GetString().ShouldBe("apiKey");
        scheme.GetProperty("in").GetString().ShouldBe("header");
        scheme.GetProperty("name").GetString().ShouldBe("X-Api-Key");

        var docs = await anonymous.GetAsync("/docs");
        docs.StatusCode.ShouldBe(HttpStatusCode.OK);
        docs.Content.Headers.ContentType!.MediaType.ShouldBe("text/html");
        // Scalar resolves the document relative to the site root: /openapi/v1.json.
        (await docs.Content.ReadAsStringAsync()).ShouldContain("\"url\":\"openapi/v1.json\"");
        (await anonymous.GetAsync("/docs/scalar.js")).StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
