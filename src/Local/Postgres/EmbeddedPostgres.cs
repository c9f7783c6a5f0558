using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace MaestroSla.Local.Postgres;

public sealed record EmbeddedPostgresOptions
{
    /// <summary>
    /// False trades crash safety for speed (fsync, synchronous_commit and full_page_writes off):
    /// for tests only, never for a benchmark that claims durability.
    /// </summary>
    public bool Durable { get; init; } = true;

    /// <summary>Null picks a free loopback port, preferring the one the data directory used last time.</summary>
    public int? Port { get; init; }

    public string Database { get; init; } = "maestrosla";
}

/// <summary>
/// A throwaway PostgreSQL cluster run from the machine's server binaries, for the demo and tests when no
/// connection string is configured. The data directory outlives the server: the caller decides when to delete it.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string NotFoundMessage =
        "PostgreSQL server binaries not found; install Debian package postgresql-15 or set ConnectionStrings:Marten";

    // Kept beside the cluster so the demo's connection string stays the same from one run to the next.
    private const string PortFileName = "maestrosla.port";

    // sun_path holds 108 bytes on Linux, terminator included.
    private const int MaxSocketPathLength = 107;

    private readonly PgTools _tools;
    private readonly string _database;
    private readonly string _serverOptions;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _running;

    private EmbeddedPostgres(PgTools tools, string dataDirectory, int port, string database, bool durable)
    {
        _tools = tools;
        DataDirectory = dataDirectory;
        Port = port;
        _database = database;
        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = "postgres",
            Database = database,
        }.ConnectionString;
        _serverOptions = ServerOptions(dataDirectory, port, durable);
    }

    public string ConnectionString { get; }

    public int Port { get; }

    public string DataDirectory { get; }

    private string LogFile => Path.Combine(DataDirectory, "server.log");

    public static async Task<EmbeddedPostgres> StartAsync(
        string dataDirectory, EmbeddedPostgresOptions? options = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDirectory);
        options ??= new EmbeddedPostgresOptions();
        var directory = Path.GetFullPath(dataDirectory);
        var tools = PgTools.Find();

        await PrepareDirectoryAsync(tools, directory, ct);
        if (!File.Exists(Path.Combine(directory, "PG_VERSION")))
        {
            await tools.RunAsync(directory,
                ["initdb", "-D", directory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], ct);
        }

        // A process that was killed before DisposeAsync leaves its server running: adopt it when it answers
        // where this start expects it, since stopping and starting again would only cost time.
        var remembered = ReadRememberedPort(directory);
        var running = await RunningPortAsync(tools, directory, ct);
        if (running is { } runningPort
            && runningPort == (options.Port ?? remembered ?? runningPort)
            && await AnswersAsync(runningPort, ct))
        {
            var adopted = new EmbeddedPostgres(tools, directory, runningPort, options.Database, options.Durable)
            {
                _running = true,
            };
            await adopted.FinishStartAsync(ct);
            return adopted;
        }

        if (running is not null)
        {
            await tools.RunAsync(directory, ["pg_ctl", "-D", directory, "-m", "fast", "-w", "stop"], ct);
        }

        var port = options.Port ?? (remembered is { } last && IsFree(last) ? last : FreePort());
        var server = new EmbeddedPostgres(tools, directory, port, options.Database, options.Durable);
        await server.StartAgainAsync(ct);
        await server.FinishStartAsync(ct);
        return server;
    }

    /// <summary>Starts the same data directory on the same port after <see cref="StopAsync"/>.</summary>
    public async Task StartAgainAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_running)
            {
                return;
            }

            await _tools.RunAsync(DataDirectory,
                ["pg_ctl", "-D", DataDirectory, "-l", LogFile, "-w", "-o", _serverOptions, "start"], ct);
            _running = true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task StopAsync(CancellationToken ct = default)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (!_running)
            {
                return;
            }

            // Someone may have stopped the server behind our back; that still counts as stopped.
            if (await RunningPortAsync(_tools, DataDirectory, ct) is not null)
            {
                await _tools.RunAsync(DataDirectory, ["pg_ctl", "-D", DataDirectory, "-m", "fast", "-w", "stop"], ct);
            }

            _running = false;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task FinishStartAsync(CancellationToken ct)
    {
        await File.WriteAllTextAsync(
            Path.Combine(DataDirectory, PortFileName), Port.ToString(CultureInfo.InvariantCulture), ct);
        try
        {
            await CreateDatabaseAsync(Port, _database, ct);
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException(
                $"PostgreSQL in {DataDirectory} started but database '{_database}' could not be created: {e.Message}"
                + LogTail(DataDirectory), e);
        }
    }

    private static string ServerOptions(string directory, int port, bool durable)
    {
        // The socket lives in the data directory so nothing is written to /var/run; a path too long for a
        // socket name turns sockets off instead, since every client here connects over TCP.
        var socketPath = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $".s.PGSQL.{port}"));
        var sockets = Encoding.UTF8.GetByteCount(socketPath) <= MaxSocketPathLength ? ShellQuote(directory) : "''";
        var options = string.Create(CultureInfo.InvariantCulture,
            $"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c max_connections=200");
        return durable ? options : options + " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    }

    // pg_ctl hands the -o string to /bin/sh.
    private static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static async Task PrepareDirectoryAsync(PgTools tools, string directory, CancellationToken ct)
    {
        if (!tools.RunsAsPostgres)
        {
            Directory.CreateDirectory(directory);
            return;
        }

        // initdb refuses root and the server insists on owning its directory, so both run as postgres. Only
        // folders made here, or an empty one handed over for the cluster, change owner: a folder someone else
        // made and uses (a home, say) is not ours to give away.
        var handedOver = new List<string>();
        for (var path = directory; !Directory.Exists(path); path = Path.GetDirectoryName(path)!)
        {
            handedOver.Add(path);
        }

        if (handedOver.Count == 0 && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            handedOver.Add(directory);
        }

        Directory.CreateDirectory(directory);
        if (handedOver.Count > 0)
        {
            await tools.RunAsync(directory, ["chown", "postgres:postgres", .. handedOver], ct, asPostgres: false);
        }

        if (!await tools.PostgresCanUseAsync(directory, ct))
        {
            var closed = directory;
            for (var path = Path.GetDirectoryName(directory); path is not null; path = Path.GetDirectoryName(path))
            {
                if (!await tools.PostgresCanUseAsync(path, ct, write: false))
                {
                    closed = path;
                }
            }

            throw new InvalidOperationException(
                $"User postgres cannot reach {directory} ({closed} is closed to it). Put the data directory "
                + "under a folder postgres can traverse, such as /tmp or /var/tmp, or set ConnectionStrings:Marten.");
        }
    }

    private static int? ReadRememberedPort(string directory)
    {
        var file = Path.Combine(directory, PortFileName);
        return File.Exists(file)
               && int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
               && port is > 0 and <= IPEndPoint.MaxPort
            ? port
            : null;
    }

    /// <summary>The port of a live server on this directory, read from postmaster.pid; null when none runs.</summary>
    private static async Task<int?> RunningPortAsync(PgTools tools, string directory, CancellationToken ct)
    {
        var pidFile = Path.Combine(directory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return null;
        }

        // A postmaster.pid whose process is dead is not a running server; pg_ctl start cleans it up itself.
        var status = await tools.TryRunAsync(directory, ["pg_ctl", "-D", directory, "status"], ct);
        if (status.ExitCode != 0)
        {
            return null;
        }

        // Line 4 of postmaster.pid is the port.
        var lines = await File.ReadAllLinesAsync(pidFile, ct);
        return lines.Length > 3 && int.TryParse(lines[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? port
            : -1;
    }

    private static async Task<bool> AnswersAsync(int port, CancellationToken ct)
    {
        try
        {
            await using var connection = new NpgsqlConnection(AdminConnectionString(port));
            await connection.OpenAsync(ct);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private static async Task CreateDatabaseAsync(int port, string database, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString(port));
        await connection.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection)
        {
            Parameters = { new NpgsqlParameter { Value = database } },
        };
        if (await exists.ExecuteScalarAsync(ct) is not null)
        {
            return;
        }

        var quoted = "\"" + database.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        await using var create = new NpgsqlCommand($"create database {quoted}", connection);
        try
        {
            await create.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // Another process sharing this cluster created it first.
        }
    }

    // No pooling: these connections must not linger in a pool and keep a database busy or a stop waiting.
    private static string AdminConnectionString(int port) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Username = "postgres",
        Database = "postgres",
        Pooling = false,
        Timeout = 5,
    }.ConnectionString;

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Racy by nature (someone may take the port before the server binds it); a failed start says so in its log.
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string LogTail(string directory)
    {
        const int tailBytes = 4096;
        var file = Path.Combine(directory, "server.log");
        if (!File.Exists(file))
        {
            return string.Empty;
        }

        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var cut = stream.Length > tailBytes;
        stream.Seek(cut ? stream.Length - tailBytes : 0, SeekOrigin.Begin);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        if (cut)
        {
            reader.ReadLine();
        }

        return $"{Environment.NewLine}--- tail of {file} ---{Environment.NewLine}{reader.ReadToEnd()}";
    }

    /// <summary>The server binaries, and whether they must run as postgres because this process is root.</summary>
    private sealed class PgTools(string binDirectory, bool runsAsPostgres)
    {
        public bool RunsAsPostgres { get; } = runsAsPostgres;

        public static PgTools Find() => new(FindBinDirectory(), IsRoot());

        public async Task RunAsync(string directory, string[] command, CancellationToken ct, bool asPostgres = true)
        {
            var result = await TryRunAsync(directory, command, ct, asPostgres);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"'{string.Join(' ', command)}' exited with {result.ExitCode}:{Environment.NewLine}"
                    + result.Output.TrimEnd() + LogTail(directory));
            }
        }

        public async Task<bool> PostgresCanUseAsync(string directory, CancellationToken ct, bool write = true) =>
            (await TryRunAsync(directory, ["test", "-x", directory, "-a", write ? "-w" : "-x", directory], ct))
            .ExitCode == 0;

        public async Task<(int ExitCode, string Output)> TryRunAsync(
            string directory, string[] command, CancellationToken ct, bool asPostgres = true)
        {
            var program = command[0] is "initdb" or "pg_ctl" ? Path.Combine(binDirectory, command[0]) : command[0];
            var info = new ProcessStartInfo
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,

                // Our working directory may be closed to postgres (under /root), and initdb and pg_ctl stat it.
                WorkingDirectory = asPostgres && RunsAsPostgres ? "/" : directory,
            };
            if (asPostgres && RunsAsPostgres)
            {
                info.FileName = File.Exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "runuser";
                foreach (var argument in (string[])["-u", "postgres", "--", program])
                {
                    info.ArgumentList.Add(argument);
                }
            }
            else
            {
                info.FileName = program;
            }

            foreach (var argument in command.AsSpan(1))
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)
                ?? throw new InvalidOperationException($"Could not start {info.FileName}");
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            try
            {
                await process.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            return (process.ExitCode, await stdout + await stderr);
        }

        private static string FindBinDirectory()
        {
            var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
            foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                if (HasServerBinaries(directory))
                {
                    // The PATH entries are often symlinks; the real folder is where initdb looks for postgres.
                    var pgCtl = new FileInfo(Path.Combine(directory, "pg_ctl"));
                    return Path.GetDirectoryName(pgCtl.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? pgCtl.FullName)!;
                }
            }

            const string debianRoot = "/usr/lib/postgresql";
            var newest = Directory.Exists(debianRoot)
                ? Directory.EnumerateDirectories(debianRoot)
                    .Select(version => (Version: int.TryParse(Path.GetFileName(version), out var major) ? major : -1,
                        Bin: Path.Combine(version, "bin")))
                    .Where(candidate => candidate.Version >= 0 && HasServerBinaries(candidate.Bin))
                    .OrderByDescending(candidate => candidate.Version)
                    .Select(candidate => candidate.Bin)
                    .FirstOrDefault()
                : null;
            return newest ?? throw new InvalidOperationException(NotFoundMessage);
        }

        private static bool HasServerBinaries(string directory) =>
            File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"))
            && File.Exists(Path.Combine(directory, "postgres"));

        // Environment.UserName is the passwd name of the effective uid; /proc still answers when an image
        // has no passwd entry for it.
        private static bool IsRoot() => Environment.UserName == "root" || EffectiveUserId() == 0;

        private static int? EffectiveUserId()
        {
            const string status = "/proc/self/status";
            if (!File.Exists(status))
            {
                return null;
            }

            foreach (var line in File.ReadLines(status))
            {
                // "Uid:" is followed by the real, effective, saved and filesystem uids.
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var ids = line.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                    return ids.Length > 2 && int.TryParse(ids[2], CultureInfo.InvariantCulture, out var uid) ? uid : null;
                }
            }

            return null;
        }
    }
}
