using System.Globalization;
using System.Net;
using System.Text;
using MaestroSla.Cli;
using Shouldly;
using Spectre.Console;

namespace MaestroSla.Tests.Cli;

/// <summary>
/// The backup verbs against the answers documented in src/Cli/README.md, served by a stub: the admin endpoints
/// do not exist yet. When they do, tests against the running service replace these.
/// </summary>
[Trait("Category", "Unit")]
public sealed class BackupCommandTests
{
    [Fact]
    public async Task backup_create_follows_a_202_location_until_the_backup_completes_and_reports_its_fields()
    {
        var polls = 0;
        using var stub = new StubHandler(request => (request.Method.Method, request.RequestUri!.PathAndQuery) switch
        {
            ("POST", "/api/admin/backups?type=incremental") => Answer(HttpStatusCode.Accepted, """{"id":"b-7","status":"running","percent":10}""", "/api/admin/backups/b-7"),
            ("GET", "/api/admin/backups/b-7") => ++polls < 2
                ? Answer(HttpStatusCode.OK, """{"id":"b-7","status":"running","percent":60}""")
                : Answer(HttpStatusCode.OK, """{"id":"b-7","status":"completed","type":"incremental","events":12345}"""),
            _ => Answer(HttpStatusCode.NotFound, ""),
        });

        var (exit, output) = await RunAsync(stub, "backup", "create", "--type", "incremental", "--url", "http://stub/");

        exit.ShouldBe(0, output);
        polls.ShouldBe(2);
        output.ShouldContain("backup done");
        output.ShouldContain("12,345");
        stub.Requests.ShouldAllBe(r => r.Headers.GetValues("X-Api-Key").Single() == "admin-key");
    }

    [Fact]
    public async Task a_failed_validation_or_restore_exits_with_1_and_a_refused_call_says_why()
    {
        using var stub = new StubHandler(request => (request.Method.Method, request.RequestUri!.PathAndQuery) switch
        {
            ("POST", "/api/admin/backups/b-1/validate") => Answer(HttpStatusCode.OK, """{"backupId":"b-1","valid":false,"problems":["segment 3: SHA-256 differs"]}"""),
            ("POST", "/api/admin/restores") => Answer(HttpStatusCode.Conflict, """{"title":"The target is not empty","detail":"use --force"}"""),
            ("GET", "/api/admin/backups") => Answer(HttpStatusCode.OK, """[{"id":"b-1","type":"full","status":"completed","sizeBytes":2048}]"""),
            _ => Answer(HttpStatusCode.NotFound, ""),
        });

        var (validateExit, validate) = await RunAsync(stub, "backup", "validate", "b-1", "--url", "http://stub/");
        validateExit.ShouldBe(1);
        validate.ShouldContain("segment 3: SHA-256 differs");
        validate.ShouldContain("validation failed");

        var (restoreExit, restore) = await RunAsync(stub, "restore", "b-1", "--to-time", "2026-10-15T00:00:00Z", "--url", "http://stub/");
        restoreExit.ShouldBe(1);
        restore.ShouldContain("409 Conflict: The target is not empty: use --force");
        var body = stub.Bodies[^1];
        body.ShouldContain("\"backupId\":\"b-1\"");
        body.ShouldContain("\"pointInTime\":\"2026-10-15T00:00:00+00:00\"");

        var (listExit, list) = await RunAsync(stub, "backup", "list", "--url", "http://stub/");
        listExit.ShouldBe(0, list);
        list.ShouldContain("b-1");
        list.ShouldContain("full");
        list.ShouldNotContain("sizeBytes", customMessage: "by default only the main columns");
        var (wideExit, wide) = await RunAsync(stub, "backup", "list", "--wide", "--url", "http://stub/");
        wideExit.ShouldBe(0, wide);
        wide.ShouldContain("sizeBytes");
        wide.ShouldContain("2,048");
    }

    private static HttpResponseMessage Answer(HttpStatusCode status, string json, string? location = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (location is not null)
        {
            response.Headers.Location = new Uri(location, UriKind.Relative);
        }
        return response;
    }

    private static async Task<(int Exit, string Output)> RunAsync(HttpMessageHandler handler, params string[] args)
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 200;
        var exit = await MaestroCli.RunAsync(args, console, handler, name => name == MaestroCli.ApiKeyVariable ? "admin-key" : null);
        return (exit, writer.ToString());
    }

    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) : HttpMessageHandler
    {
        public List<HttpRequestMessage> Requests { get; } = [];
        public List<string> Bodies { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Add(request);
            Bodies.Add(request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken));
            return answer(request);
        }
    }
}
