using Npgsql;

namespace MaestroSla.Tests.Infrastructure;

/// <summary>The rows of one of ingest's catalogue tables (series_catalog, customer_catalog) as "service name".</summary>
public static class CatalogueRows
{
    /// <returns>In ordinal order.</returns>
    public static async Task<List<string>> ReadAsync(NpgsqlConnection connection, string schema, string table, string column)
    {
        await using var command = new NpgsqlCommand($"select service || ' ' || {column} from {schema}.{table}", connection);
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        rows.Sort(StringComparer.Ordinal);
        return rows;
    }
}
