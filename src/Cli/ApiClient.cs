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
        if (status == HttpStatusCode.Unauthorized)
        {
            return $"{what}: an API key is needed (--api-key or MAESTROSLA_API_KEY)";
        }
        if (status == HttpStatusCode.Forbidden)
        {
            return $"{what}: this API key may not do that";
        }
        try
        {
            using var problem = JsonDocument.Parse(body);
            var root = problem.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("title", out var title))
            {
                return root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
                    ? $"{what}: {title.GetString()}: {detail.GetString()}"
                    : $"{what}: {title.GetString()}";
            }
        }
        catch (JsonException)
        {
            // Not a problem document: show the start of whatever came back.
        }
        return string.IsNullOrWhiteSpace(body) ? what : $"{what}: {(body.Length > 300 ? body[..300] + "…" : body)}";
    }

    public void Dispose() => _http.Dispose();
}
