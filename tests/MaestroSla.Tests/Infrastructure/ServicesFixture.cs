using System.Net.Sockets;
using MaestroSla.Local.Postgres;
using MaestroSla.Local.Kafka;
using MaestroSla.Tests.Backup;
using Npgsql;
using Testcontainers.PostgreSql;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>
/// The real services every integration test talks to, started once: PostgreSQL (a Testcontainers container where
/// a Docker engine answers, else a throwaway cluster from the machine's binaries) and a Kafka-protocol broker
/// (librdkafka's mock cluster over TCP); on first use, an S3-protocol server (s3rver). Each test gets its own
/// database and topic.
/// </summary>
public sealed class ServicesFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"maestrosla-tests-{Guid.NewGuid():N}");
    private EmbeddedPostgres? _embedded;
    private PostgreSqlContainer? _container;
    private readonly Lazy<Task<S3rverProcess>> _s3 = new(S3rverProcess.StartAsync);

    public MockKafkaCluster Kafka { get; private set; } = null!;

    public string AdminConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Kafka = MockKafkaCluster.Start();
        if (DockerEngineAnswers())
        {
            _container = new PostgreSqlBuilder("postgres:15-alpine").Build();
            await _container.StartAsync();
            AdminConnectionString = _container.GetConnectionString();
        }
        else
        {
            _embedded = await EmbeddedPostgres.StartAsync(_dataDirectory, new EmbeddedPostgresOptions { Durable = false });
            AdminConnectionString = _embedded.ConnectionString;
        }
    }

    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t_{Guid.NewGuid():N}";
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>
    /// The S3-protocol server (s3rver, run with node), started on first use — only backup tests need it — and
    /// stopped with the fixture. Fails, naming the fix, when it is not installed.
    /// </summary>
    public Task<S3rverProcess> S3Async() => _s3.Value;

    /// <remarks>
    /// The mock broker keeps only about 5 MiB per partition and silently drops older data: tests that produce
    /// much before consuming spread it over enough partitions, and always assert exact counts so a drop shows.
    /// </remarks>
    public string CreateTopic(int partitions)
    {
        var topic = $"telemetry-{Guid.NewGuid():N}";
        Kafka.CreateTopic(topic, partitions);
        return topic;
    }

    public async Task DisposeAsync()
    {
        Kafka.Dispose();
        if (_s3.IsValueCreated && _s3.Value.IsCompletedSuccessfully)
        {
            await _s3.Value.Result.DisposeAsync();
        }
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        }
    }

    private static bool DockerEngineAnswers()
    {
        const string socketPath = "/var/run/docker.sock";
        if (!File.Exists(socketPath) && Environment.GetEnvironmentVariable("DOCKER_HOST") is null)
        {
            return false;
        }
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedServices : ICollectionFixture<ServicesFixture>
{
    public const string Name = "services";
}
