using MaestroSla.Api.Store;
using Npgsql;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>Sets projection shards' progress rows directly, as a daemon that got that far would have left them.</summary>
public static class ProjectionProgress
{
    public static async Task SetAsync(string connectionString, params (string Name, long Sequence)[] rows)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var (name, sequence) in rows)
        {
            await using var command = new NpgsqlCommand(
                $"insert into {MaestroStore.Schema}.mt_event_progression (name, last_seq_id) values ($1, $2) on conflict (name) do update set last_seq_id = excluded.last_seq_id",
                connection);
            command.Parameters.Add(new NpgsqlParameter { Value = name });
            command.Parameters.Add(new NpgsqlParameter { Value = sequence });
            await command.ExecuteNonQueryAsync();
        }
    }
}
