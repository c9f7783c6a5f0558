using MaestroSla.Api.Alerts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Shouldly;

namespace MaestroSla.Tests.Alerts;

public sealed class SlaAlertOptionsTests
{
    private static SlaAlertOptions Bind(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddSlaAlerts();
        using var provider = builder.Services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<SlaAlertOptions>>().Value;
    }

    [Fact]
    public void defaults_evaluate_every_minute_with_a_100_request_guard_and_no_webhook()
    {
        var options = Bind([]);
        options.EvaluateEvery.ShouldBe(TimeSpan.FromMinutes(1));
        options.MinimumRequests.ShouldBe(100);
        options.WebhookUrl.ShouldBeNull();
    }

    [Fact]
    public void an_empty_webhook_setting_means_none()
    {
        Bind(new() { ["Sla:Alerts:WebhookUrl"] = "" }).WebhookUrl.ShouldBeNull();
    }

    [Fact]
    public void a_relative_webhook_url_is_refused()
    {
        Should.Throw<OptionsValidationException>(() => Bind(new() { ["Sla:Alerts:WebhookUrl"] = "/hook" }));
    }
}
