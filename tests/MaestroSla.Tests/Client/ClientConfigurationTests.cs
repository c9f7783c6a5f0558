using MaestroSla.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Shouldly;

namespace MaestroSla.Tests.Client;

/// <summary>The client is configured from the "MaestroSla" section, code wins over it, and bad settings stop the app at start.</summary>
public sealed class ClientConfigurationTests
{
    [Fact]
    public async Task settings_come_from_the_maestrosla_section_and_code_configures_on_top()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["MaestroSla:Service"] = "billing",
            ["MaestroSla:Transport"] = "Kafka",
            ["MaestroSla:BufferCapacity"] = "5000",
            ["MaestroSla:Kafka:BootstrapServers"] = "kafka-1:9092,kafka-2:9092",
            ["MaestroSla:Kafka:Topic"] = "telemetry",
            ["MaestroSla:Kafka:Client:security.protocol"] = "SASL_SSL",
            ["MaestroSla:Http:Endpoint"] = "http://maestrosla:5000",
        }, o => o.BufferCapacity = 7000);

        var options = app.Services.GetRequiredService<IOptions<MaestroSlaOptions>>().Value;
        options.Service.ShouldBe("billing");
        options.Transport.ShouldBe(MaestroSlaTransport.Kafka);
        options.BufferCapacity.ShouldBe(7000);
        options.Kafka.BootstrapServers.ShouldBe("kafka-1:9092,kafka-2:9092");
        options.Kafka.Topic.ShouldBe("telemetry");
        options.Kafka.Client.ShouldBe(new Dictionary<string, string> { ["security.protocol"] = "SASL_SSL" });
        options.Http.Endpoint.ShouldBe(new Uri("http://maestrosla:5000"));
        app.Services.GetRequiredService<MaestroSlaReporter>().Service.ShouldBe("billing");
    }

    [Fact]
    public async Task the_service_defaults_to_the_application_name()
    {
        await using var app = Build(new Dictionary<string, string?> { ["MaestroSla:Http:Endpoint"] = "http://maestrosla:5000" });
        app.Services.GetRequiredService<MaestroSlaReporter>().Service.ShouldBe(app.Environment.ApplicationName);
    }

    [Fact]
    public async Task bad_settings_stop_the_app_at_start_naming_each_one()
    {
        await using var app = Build(new Dictionary<string, string?>
        {
            ["MaestroSla:Service"] = "check|out",
            ["MaestroSla:BufferCapacity"] = "0",
            ["MaestroSla:Http:MaxBatchMessages"] = "60000",
        });
        var failure = await Should.ThrowAsync<OptionsValidationException>(() => app.StartAsync());
        failure.Message.ShouldContain("MaestroSla:Service must not contain '|'");
        failure.Message.ShouldContain("MaestroSla:BufferCapacity must be at least 1");
        failure.Message.ShouldContain("MaestroSla:Http:Endpoint must be MaestroSla's absolute http(s) address");
        failure.Message.ShouldContain("MaestroSla:Http:MaxBatchMessages must lie between 1 and 50000");

        await using var kafka = Build(new Dictionary<string, string?> { ["MaestroSla:Transport"] = "Kafka" });
        (await Should.ThrowAsync<OptionsValidationException>(() => kafka.StartAsync()))
            .Message.ShouldContain("MaestroSla:Kafka:BootstrapServers is required with Transport Kafka");
    }

    [Fact]
    public async Task use_without_add_says_what_is_missing()
    {
        await using var app = WebApplication.CreateSlimBuilder().Build();
        Should.Throw<InvalidOperationException>(() => app.UseMaestroSla()).Message.ShouldContain("AddMaestroSla");
    }

    private static WebApplication Build(Dictionary<string, string?> settings, Action<MaestroSlaOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddMaestroSla(configure);
        return builder.Build();
    }
}
