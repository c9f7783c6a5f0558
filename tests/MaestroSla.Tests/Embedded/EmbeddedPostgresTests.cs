using MaestroSla.Local.Postgres;
using Npgsql;
using Shouldly;
using Xunit;

namespace MaestroSla.Tests.Embedded;

public sealed class EmbeddedPostgresTests : IDisposable
{
    // Directly under the temp folder, which postgres can traverse when the tests run as root (as CI does).
    private readonly DirectoryInfo _dataDirectory = Directory.CreateTempSubdirectory("maestrosla-pg-");

    private static readonly EmbeddedPostgresOptions Fast = new() { Durable = false };

    public void Dispose() => _dataDirectory.Delete(recursive: true);

    [Fact]
    public async Task a_stopped_server_refuses_connections_and_serves_again_on_the_same_port_after_starting_again()
    {
        await using var postgres = await EmbeddedPostgres.StartAsync(_dataDirectory.FullName, Fast);
        (await SelectOneAsync(postgres)).ShouldBe(1);
        var port = postgres.Port;

        await postgres.StopAsync();
        await postgres.StopAsync();
        await Should.ThrowAsync<NpgsqlException>(() => SelectOneAsync(postgres));

        await postgres.StartAgainAsync();
        postgres.Port.ShouldBe(port);
        (await SelectOneAsync(postgres)).ShouldBe(1);
    }

    [Fact]
    public async Task a_second_start_on_the_same_directory_reuses_the_cluster_its_data_and_its_port()
    {
        int port;
        await using (var first = await EmbeddedPostgres.StartAsync(_dataDirectory.FullName, Fast))
        {
            port = first.Port;
            await ExecuteAsync(first, "create table kept (id int); insert into kept values (42)");
        }

        await using var second = await EmbeddedPostgres.StartAsync(_dataDirectory.FullName, Fast);
        second.Port.ShouldBe(port);
        (await ScalarAsync<int>(second, "select id from kept")).ShouldBe(42);
    }

    [Fact]
    public async Task a_server_left_running_by_a_killed_process_is_adopted_rather_than_restarted()
    {
        var orphan = await EmbeddedPostgres.StartAsync(_dataDirectory.FullName, Fast);
        try
        {
            await ExecuteAsync(orphan, "create table kept (id int); insert into kept values (7)");

            // The orphan is left running as if its process had died; the adopter stops the server.
            await using var adopter = await EmbeddedPostgres.StartAsync(_dataDirectory.FullName, Fast);
            adopter.Port.ShouldBe(orphan.Port);
            (await ScalarAsync<int>(adopter, "select id from kept")).ShouldBe(7);
        }
        finally
        {
            await orphan.StopAsync();
        }
    }

    [Fact]
    public async Task a_database_named_in_the_options_is_created()
    {
        await using var postgres = await EmbeddedPostgres.StartAsync(
            _dataDirectory.FullName, Fast with { Database = "other db" });
        (await ScalarAsync<string>(postgres, "select current_database()")).ShouldBe("other db");
    }

    private static Task<int> SelectOneAsync(EmbeddedPostgres postgres) => ScalarAsync<int>(postgres, "select 1");

    // No pooling, so a connection broken by a stop is not handed out again after the restart.
    private static NpgsqlConnection Connect(EmbeddedPostgres postgres) =>
        new(new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Pooling = false }.ConnectionString);

    private static async Task<T> ScalarAsync<T>(EmbeddedPostgres postgres, string sql)
    {
        await using var connection = Connect(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(EmbeddedPostgres postgres, string sql)
    {
        await using var connection = Connect(postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
