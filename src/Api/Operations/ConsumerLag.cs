namespace MaestroSla.Api.Operations;

public static class ConsumerLag
{
    /// <summary>
    /// Messages in the topic not yet stored, summed over partitions. What counts is the offset stored with the
    /// events (where ingest resumes), not Kafka's committed offset. A partition with none stored starts at its
    /// earliest retained offset, and offsets that retention already deleted can never be read, so neither is lag.
    /// </summary>
    /// <param name="latest">Per partition, the offset the next produced message will get (the high watermark).</param>
    /// <param name="earliest">Per partition, the first offset still retained.</param>
    /// <param name="stored">Per partition, the next offset ingest will read, as stored with the events.</param>
    public static long Sum(IReadOnlyDictionary<int, long> latest, IReadOnlyDictionary<int, long> earliest, IReadOnlyDictionary<int, long> stored)
    {
        long lag = 0;
        foreach (var (partition, high) in latest)
        {
            var first = earliest.GetValueOrDefault(partition);
            var next = stored.TryGetValue(partition, out var offset) ? Math.Max(offset, first) : first;
            lag += Math.Max(0, high - next);
        }
        return lag;
    }
}
