using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MaestroSla.Cli;

/// <summary>A failed call: what the API said (its problem document's title and detail), for the user.</summary>
public sealed class ApiException(string message, HttpStatusCode? status = null) : Exception(message)
{
    public HttpStatusCode? Status { get; } = status;
}

/// <summary>The MaestroSla HTTP API as the CLI uses it: JSON in and out, X-Api-Key on every request.</summary>
public sealed class ApiClient : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;

    public ApiClient(Uri baseAddress, string? apiKey, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = baseAddress;
        _http.Timeout = TimeSpan.FromMinutes(10);
        if (!string.IsNullOrEmpty(apiKey))
        {
            _http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public async Task<T> GetAsync<T>(string path, CancellationToken ct) =>
        JsonSerializer.Deserialize<T>(await GetTextAsync(path, ct), Json) ?? throw new ApiException($"GET {path} answered null");

    public async Task<string> GetTextAsync(string path, CancellationToken ct)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    /// <summary>A probe (/health): 503 answers "something is Unhealthy" with the same document, so it is no error here.</summary>
    public async Task<string> GetProbeAsync(string path, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(path, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new ApiException($"cannot reach {_http.BaseAddress}: {ex.Message} (set --url or MAESTROSLA_URL)");
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct);
            return response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.ServiceUnavailable
                ? body
                : throw new ApiException($"GET {path} answered {(int)response.StatusCode} {response.StatusCode}", response.StatusCode);
        }
    }

    public async Task<(string Body, Uri? Location, HttpStatusCode Status)> SendTextAsync(HttpMethod method, string path, string? body, string contentType, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }
        using var response = await SendAsync(request, ct);
        return (await response.Content.ReadAsStringAsync(ct), response.Headers.Location, response.StatusCode);
    }

    public Task<(string Body, Uri? Location, HttpStatusCode Status)> SendJsonAsync(HttpMethod method, string path, object? body, CancellationToken ct) =>
        SendTextAsync(method, path, body is null ? null : JsonSerializer.Serialize(body, Json), "application/json", ct);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            throw new ApiException($"cannot reach {_http.BaseAddress}: {ex.Message} (set --url or MAESTROSLA_URL)");
        }
        finally
        {
            request.Dispose();
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            throw new ApiException(Describe(request.Method, request.RequestUri, response.StatusCode, text), response.StatusCode);
        }
    }

    private static string Describe(HttpMethod method, Uri? uri, HttpStatusCode status, string body)
    {
        var what = $"{method} {uri?.OriginalString} answered {(int)status} {status}";
        // The server's problem document says what went wrong (for 401/403: which roles and services the key has);
        // the CLI adds only what the server cannot know: how a key is given to the CLI.
        var problem = ProblemText(body);
        var hint = status == HttpStatusCode.Unauthorized ? " (give a key with --api-key or MAESTROSLA_API_KEY)" : "";
        if (problem is not null)
        {
            return $"{what}: {problem}{hint}";
        }
        return status switch
        {
            HttpStatusCode.Unauthorized => $"{what}: an API key is needed{hint}",
            HttpStatusCode.Forbidden => $"{what}: this API key may not do that",
            _ when string.IsNullOrWhiteSpace(body) => what,
            // Not a problem document: show the start of whatever came back.
            _ => $"{what}: {(body.Length > 300 ? body[..300] + "…" : body)}",
        };
    }

    /// <summary>"title: detail" of a problem document, or null when the body is not one.</summary>
    private static string? ProblemText(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("title", out var title) || title.ValueKind != JsonValueKind.String)
            {
                return null;
            }
            return root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(detail.GetString())
                ? $"{title.GetString()}: {detail.GetString()}"
                : title.GetString();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Dispose() => _http.Dispose();
}
