using MaestroSla.Backup.Format;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace MaestroSla.Backup.Creating;

/// <summary>
/// How far a backup may go: the highest sequence number below which no append can still commit, and which does
/// not split a transaction's events between two backups.
/// </summary>
/// <remarks>
/// Sequence numbers are taken when events are inserted and become visible only when their transaction commits,
/// so the newest visible event can sit above a hole that an append in flight is about to fill. A backup that went
/// past such a hole would miss those events for good (the next incremental starts above it). Holes also come from
/// rolled-back appends and never fill. Marten's async daemon tells the two apart and keeps its verdict as the
/// "HighWaterMark" progression; this class trusts that mark, advances through holes-free ranges on its own (so
/// backups keep working where no daemon runs), and takes a hole the daemon has not settled for a rolled-back one
/// once its next event is older than <see cref="BackupOptions.DeadGapAfter"/> (5 minutes by default: far longer than
/// an append takes, and than the daemon needs to settle a hole, so with a running daemon this rule never decides).
/// All of it runs inside the backup's own snapshot, so what is judged here is exactly what is then read.
/// </remarks>
internal static class SafeHighWaterMark
{
    private const int GapsPerQuery = 1000;

    public static async Task<long> FindAsync(
        NpgsqlConnection connection, StoreTables tables, long from, TimeSpan deadGapAfter, ILogger logger, CancellationToken ct)
    {
        long daemonMark, visible;
        DateTimeOffset now;
        await using (var command = new NpgsqlCommand(
            $"""
             select coalesce((select last_seq_id from {tables.Progression} where name = 'HighWaterMark'), 0),
                    coalesce((select max(seq_id) from {tables.Events} where seq_id > $1), $1),
                    now()
             """, connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = from });
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            daemonMark = reader.GetInt64(0);
            visible = reader.GetInt64(1);
            now = reader.GetFieldValue<DateTimeOffset>(2);
        }

        var mark = await WalkGapsAsync(connection, tables, from, visible, daemonMark, now - deadGapAfter, logger, ct);
        return await AtTransactionBoundaryAsync(connection, tables, from, mark, ct);
    }

    private static async Task<long> WalkGapsAsync(
        NpgsqlConnection connection, StoreTables tables, long from, long visible, long daemonMark, DateTimeOffset deadBefore,
        ILogger logger, CancellationToken ct)
    {
        var start = from;
        while (start < visible)
        {
            var gaps = new List<(long Before, long Next, DateTimeOffset NextAt)>();
            await using (var command = new NpgsqlCommand(
                $"""
                 select seq_id, next_seq, next_at from (
                     select seq_id, lead(seq_id) over (order by seq_id) as next_seq, lead(timestamp) over (order by seq_id) as next_at
                     from (select $1::bigint as seq_id, null::timestamptz as timestamp
                           union all
                           select seq_id, timestamp from {tables.Events} where seq_id > $1) known
                 ) pairs
                 where next_seq > seq_id + 1
                 order by seq_id
                 limit {GapsPerQuery}
                 """, connection))
            {
                command.Parameters.Add(new NpgsqlParameter { Value = start });
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    gaps.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetFieldValue<DateTimeOffset>(2)));
                }
            }

            foreach (var (before, next, nextAt) in gaps)
            {
                if (next - 1 <= daemonMark)
                {
                    continue; // the daemon has already settled this hole
                }
                if (nextAt < deadBefore)
                {
                    logger.LogWarning("Event sequence numbers {First}..{Last} never committed and the next event is from {At:O}: taken for a rolled-back append",
                        before + 1, next - 1, nextAt);
                    continue;
                }
                // Possibly an append in flight: stop below it; the next backup picks up from here.
                logger.LogInformation("Backup stops at sequence {Mark}: numbers {First}..{Last} are not committed yet", before, before + 1, next - 1);
                return before;
            }
            if (gaps.Count < GapsPerQuery)
            {
                return visible;
            }
            start = gaps[^1].Next;
        }
        return visible;
    }

    /// <summary>
    /// Lowers <paramref name="mark"/> until no transaction has events on both sides of it. Such a transaction is
    /// committed (its events are visible) but some of its events lie above a hole: if the mark split it, its
    /// Kafka offset advance would land in this backup while part of its events waited for the next one.
    /// </summary>
    private static async Task<long> AtTransactionBoundaryAsync(NpgsqlConnection connection, StoreTables tables, long from, long mark, CancellationToken ct)
    {
        while (mark > from)
        {
            await using var command = new NpgsqlCommand(
                $"""
                 with later as (select distinct xmin::text::bigint as x, timestamp as t from {tables.Events} where seq_id > $2)
                 select coalesce(min(e.seq_id), 0) from {tables.Events} e
                 join later on e.xmin::text::bigint = later.x and e.timestamp = later.t
                 where e.seq_id > $1 and e.seq_id <= $2
                 """, connection);
            command.Parameters.Add(new NpgsqlParameter { Value = from });
            command.Parameters.Add(new NpgsqlParameter { Value = mark });
            var split = (long)(await command.ExecuteScalarAsync(ct))!;
            if (split == 0)
            {
                return mark;
            }
            mark = split - 1;
        }
        return mark;
    }
}
