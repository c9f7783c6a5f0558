using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MaestroSla.Backup.Targets;
using MaestroSla.Tests.Infrastructure;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// s3rver (an S3-protocol server in Node) on a free loopback port with its own temporary folder and one bucket,
/// for the whole test run. Installed from .ci/s3rver's lockfile (`npm ci --prefix .ci/s3rver`); when it is
/// missing the tests that need it fail saying so, they do not skip.
/// </summary>
public sealed class S3rverProcess : IAsyncDisposable
{
    public const string Bucket = "maestrosla-tests";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output;

    private S3rverProcess(Process process, string directory, int port, StringBuilder output)
    {
        _process = process;
        _directory = directory;
        _output = output;
        ServiceUrl = $"http://127.0.0.1:{port}";
    }

    public string ServiceUrl { get; }

    public static string Script => Path.Combine(Repository.Root, ".ci", "s3rver", "node_modules", "s3rver", "bin", "s3rver.js");

    public static async Task<S3rverProcess> StartAsync()
    {
        if (!File.Exists(Script))
        {
            throw new InvalidOperationException($"s3rver is not installed ({Script} is missing): run `npm ci --prefix .ci/s3rver` (needs node and npm)");
        }

        for (var attempt = 1; ; attempt++)
        {
            var directory = Directory.CreateTempSubdirectory("maestrosla-s3rver-").FullName;
            var port = FreePort();
            var start = new ProcessStartInfo("node")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                ArgumentList = { Script, "-d", directory, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--configure-bucket", Bucket },
            };
            // Node ≥ 17 refuses the MD5-based hashing s3rver's paged listings use without the legacy provider.
            start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";

            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (Win32Exception ex)
            {
                throw new InvalidOperationException("node is not on PATH: s3rver (the S3-protocol server of the backup tests) cannot run", ex);
            }
            var output = new StringBuilder();
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(output, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var server = new S3rverProcess(process, directory, port, output);
            if (await server.AnswersAsync(TimeSpan.FromSeconds(30)))
            {
                return server;
            }
            await server.DisposeAsync();
            // Someone may have taken the port between picking and binding it: try another.
            if (attempt == 3)
            {
                throw new InvalidOperationException($"s3rver did not start on 127.0.0.1:{port}: {output}");
            }
        }
    }

    /// <summary>Options for a target under its own prefix, so tests sharing the server never see each other's sets.</summary>
    /// <param name="smallParts">Multipart from 64 KiB in 32 KiB parts, so the tests' larger segments take that path
    /// too (s3rver, unlike AWS, accepts parts under 5 MiB); otherwise the production defaults.</param>
    public S3TargetOptions TargetOptions(string prefix, bool smallParts = true)
    {
        var options = new S3TargetOptions
        {
            Bucket = Bucket,
            Prefix = prefix,
            ServiceUrl = ServiceUrl,
            ForcePathStyle = true,
            AccessKey = AccessKey,
            SecretKey = SecretKey,
        };
        if (smallParts)
        {
            options.MultipartThreshold = 64 * 1024;
            options.PartSize = 32 * 1024;
        }
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    private async Task<bool> AnswersAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var port = new Uri(ServiceUrl).Port;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
