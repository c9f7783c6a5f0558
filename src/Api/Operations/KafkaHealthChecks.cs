using MaestroSla.Ingest.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace MaestroSla.Api.Operations;

/// <summary>Kafka answers metadata requests and has the telemetry topic; read from the sampler, nothing is produced.</summary>
public sealed class KafkaHealthCheck(OperationsSampler sampler, IOptions<KafkaIngestOptions> kafka, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (SampleProblem(sampler, time) is { } problem)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, problem));
        }

        var sample = sampler.Kafka!;
        var data = SampleData(sample);
        return Task.FromResult(sample.Error is null
            ? HealthCheckResult.Healthy($"{sample.Brokers} broker(s); topic {kafka.Value.Topic} has {sample.Partitions} partition(s)", data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"Kafka {sample.Error}", data: data));
    }

    internal static string? SampleProblem(OperationsSampler sampler, TimeProvider time)
    {
        if (sampler.Kafka is not { } sample)
        {
            return "Kafka not sampled yet";
        }
        var age = time.GetUtcNow() - sample.At;
        return age > sampler.MaxSampleAge ? $"the last Kafka sample is {age.TotalSeconds:0} s old: the sampler is stuck" : null;
    }

    // The probe itself only reads memory, so its duration says nothing about Kafka: the sample's own does.
    internal static Dictionary<string, object> SampleData(KafkaSample sample) => new()
    {
        ["sampledAt"] = sample.At,
        ["sampleLatencyMs"] = Math.Round(sample.Took.TotalMilliseconds, 1),
    };
}

/// <summary>This process's consumer owns at least one partition: without one it stores nothing.</summary>
public sealed class ConsumerAssignmentHealthCheck(IngestProgress progress) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var assigned = progress.AssignedPartitions;
        return Task.FromResult(assigned.Count > 0
            ? HealthCheckResult.Healthy($"{assigned.Count} partition(s) assigned: {string.Join(",", assigned)}")
            : new HealthCheckResult(context.Registration.FailureStatus, "no partitions assigned (joining the group, or more consumers than partitions)"));
    }
}

/// <summary>The group's messages not yet stored stay under Operations:MaxConsumerLag.</summary>
public sealed class ConsumerLagHealthCheck(OperationsSampler sampler, IOptions<OperationsOptions> options, TimeProvider time) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (KafkaHealthCheck.SampleProblem(sampler, time) is { } problem)
        {
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, problem));
        }

        var sample = sampler.Kafka!;
        var data = KafkaHealthCheck.SampleData(sample);
        var max = options.Value.MaxConsumerLag;
        if (sample.ConsumerLag is not { } lag)
        {
            return Task.FromResult(new HealthCheckResult(
                context.Registration.FailureStatus, $"lag unknown: {sample.Error ?? sample.LagError}", data: data));
        }

        data["lagMessages"] = lag;
        data["maxLagMessages"] = max;
        return Task.FromResult(lag <= max
            ? HealthCheckResult.Healthy($"{lag} message(s) behind (max {max})", data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"{lag} message(s) behind, over the maximum of {max}", data: data));
    }
}
