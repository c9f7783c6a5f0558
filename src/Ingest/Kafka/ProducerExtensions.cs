using Confluent.Kafka;

namespace MaestroSla.Ingest.Kafka;

public static class ProducerExtensions
{
    /// <summary>
    /// Produces to an explicit partition and, while librdkafka's local queue is full, serves delivery reports and
    /// tries again instead of failing: a backfill (demo, tests, benchmark) outruns any broker.
    /// </summary>
    public static void ProduceWaitingForRoom<TKey, TValue>(
        this IProducer<TKey, TValue> producer, TopicPartition partition, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>>? onDelivered = null)
    {
        while (true)
        {
            try
            {
                producer.Produce(partition, message, onDelivered);
                return;
            }
            catch (ProduceException<TKey, TValue> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }
}
