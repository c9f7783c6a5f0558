using System.Globalization;
using MaestroSla.Local.Postgres;
using MaestroSla.Bench.Kafka;
using MaestroSla.Bench.Measuring;
using Npgsql;

namespace MaestroSla.Bench;

/// <summary>
/// The services a run needs: a durable throwaway PostgreSQL cluster (fsync on) in a temp directory, and the load
/// generator process hosting the Kafka-protocol mock cluster.
/// </summary>
internal sealed class BenchEnvironment : IAsyncDisposable
{
    private readonly bool _keepData;

    private BenchEnvironment(EmbeddedPostgres postgres, LoadGeneratorProcess loadGenerator, bool keepData)
    {
        Postgres = postgres;
        LoadGenerator = loadGenerator;
        _keepData = keepData;
        AdminConnectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        var postmasterPid = int.Parse(File.ReadLines(Path.Combine(postgres.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        Participants = new Participants(loadGenerator.ProcessId, postmasterPid, AdminConnectionString);
    }

    public EmbeddedPostgres Postgres { get; }

    public LoadGeneratorProcess LoadGenerator { get; }

    public string AdminConnectionString { get; }

    public Participants Participants { get; }

    public static async Task<BenchEnvironment> StartAsync(BenchOptions options, string[] args, CancellationToken ct)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"maestrosla-bench-{Guid.NewGuid():N}");
        // Durable: fsync, synchronous_commit and full_page_writes stay on, as in production.
        var postgres = await EmbeddedPostgres.StartAsync(dataDirectory, new EmbeddedPostgresOptions { Durable = true }, ct);
        try
        {
            var loadGenerator = await LoadGeneratorProcess.StartAsync(args, ct);
            return new BenchEnvironment(postgres, loadGenerator, options.KeepData);
        }
        catch
        {
            await postgres.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fresh database in the cluster; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(Postgres.ConnectionString) { Database = name }.ConnectionString;
    }

    public async Task<string> ServerSettingsAsync()
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            select string_agg(name || '=' || setting || coalesce(unit, ''), ', ' order by name) from pg_settings
            where name in ('fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size', 'checkpoint_timeout')
            """, connection);
        var settings = (string)(await command.ExecuteScalarAsync())!;
        await using var version = new NpgsqlCommand("show server_version", connection);
        return $"PostgreSQL {await version.ExecuteScalarAsync()}: {settings}";
    }

    public async ValueTask DisposeAsync()
    {
        await LoadGenerator.DisposeAsync();
        // Pooled connections would hold the server's fast shutdown up for nothing.
        NpgsqlConnection.ClearAllPools();
        await Postgres.DisposeAsync();
        if (_keepData)
        {
            Console.WriteLine($"PostgreSQL data kept in {Postgres.DataDirectory} (port {Postgres.Port})");
            return;
        }
        try
        {
            Directory.Delete(Postgres.DataDirectory, recursive: true);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Could not delete {Postgres.DataDirectory}: {ex.Message}");
        }
    }
}
