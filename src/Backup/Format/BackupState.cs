using System.IO.Compression;
using System.Text.Json;
using Npgsql;

namespace MaestroSla.Backup.Format;

/// <summary>
/// The state segment: what is not an event but must come back with them. Streams (ids and types, so a restore
/// can create them before their events), every dead letter and stored Kafka offset at backup time, and the
/// offset history rows written by the transactions whose events are in this set.
/// </summary>
internal sealed class BackupState
{
    public const string SegmentName = "state.ndjson.gz";

    public List<StreamRow> Streams { get; } = [];
    public List<DeadLetterRow> DeadLetters { get; } = [];
    public List<OffsetRow> Offsets { get; } = [];
    public List<OffsetHistoryRow> History { get; } = [];

    /// <summary>
    /// Writes the state as seen by <paramref name="connection"/>'s transaction: the same snapshot the events of
    /// (<paramref name="from"/>, <paramref name="to"/>] were read in.
    /// </summary>
    public static async Task<(int Streams, int DeadLetters, int Offsets, int History)> WriteAsync(
        NpgsqlConnection connection, StoreTables tables, long from, long to, SegmentFile file, CancellationToken ct)
    {
        var streams = await WriteRowsAsync<StreamRow>(connection, file, $"select {Select<StreamRow>()} from {tables.Streams} order by id", ct);
        var deadLetters = await WriteRowsAsync<DeadLetterRow>(connection, file, $"select {Select<DeadLetterRow>()} from {tables.DeadLetterTable} order by id", ct);
        var offsets = await WriteRowsAsync<OffsetRow>(connection, file, $"select {Select<OffsetRow>()} from {tables.KafkaOffsets} order by 1, 2, 3", ct);

        // An offset advance belongs with the events its transaction wrote: a history row and those events share
        // the inserting transaction (xmin) and its now() (committed_at = timestamp). Rows of flushes that stored
        // only dead letters are linked through the dead letters instead, unless that transaction also wrote events
        // past this set (they travel with those events, in the next set). Rows may repeat across sets; a restore
        // keeps one per id.
        var historySql = $"""
            with tx as (
                select distinct xmin::text::bigint as x, timestamp as t from {tables.Events} where seq_id > $1 and seq_id <= $2
                union
                select xmin::text::bigint, mt_last_modified from {tables.DeadLetterTable}
            ), later as (
                select distinct xmin::text::bigint as x, timestamp as t from {tables.Events} where seq_id > $2
            )
            select {Select<OffsetHistoryRow>("h.")}
            from {tables.KafkaOffsetHistory} h
            join tx on h.xmin::text::bigint = tx.x and h.committed_at = tx.t
            where not exists (select 1 from later where later.x = tx.x and later.t = tx.t)
            order by h.id
            """;
        var history = await WriteRowsAsync<OffsetHistoryRow>(connection, file, historySql, ct, from, to);
        return (streams, deadLetters, offsets, history);
    }

    /// <summary>Reads a state segment (gzip'd NDJSON). State is small: plain JSON documents per line are fine here.</summary>
    public static async Task<BackupState> ReadAsync(Stream compressed, CancellationToken ct)
    {
        var state = new BackupState();
        await using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
        using var lines = new NdjsonLineReader(gzip);
        while (await lines.ReadLineAsync(ct))
        {
            if (lines.Line.IsEmpty)
            {
                continue;
            }
            using var document = JsonDocument.Parse(lines.Line);
            var line = document.RootElement;
            var kind = line.GetProperty("kind").GetString();
            // A kind written by a newer version is not understood, so not restored.
            _ = Add(state.Streams, kind, line) || Add(state.DeadLetters, kind, line) || Add(state.Offsets, kind, line) || Add(state.History, kind, line);
        }
        return state;
    }

    private static bool Add<T>(List<T> rows, string? kind, JsonElement line) where T : IStateRow<T>
    {
        if (kind != T.Kind)
        {
            return false;
        }
        rows.Add(T.Read(line));
        return true;
    }

    private static string Select<T>(string prefix = "") where T : IStateRow<T> =>
        string.Join(", ", T.Columns.Select(column => prefix + column));

    private static async Task<int> WriteRowsAsync<T>(
        NpgsqlConnection connection, SegmentFile file, string sql, CancellationToken ct, params object[] parameters) where T : IStateRow<T>
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = 0;
        while (await reader.ReadAsync(ct))
        {
            await StateLine.WriteAsync(file, T.Read(reader), ct);
            rows++;
        }
        return rows;
    }
}
