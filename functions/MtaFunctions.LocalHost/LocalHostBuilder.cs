using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Storage;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.LocalHost;

/// <summary>Builds the WebJobs host that runs the Function App's handlers locally.</summary>
public static class LocalHostBuilder
{
    /// <summary>Builds the host; settings are read (and checked) here.</summary>
    /// <param name="args">Command-line overrides (<c>--Key=value</c>).</param>
    /// <param name="settingsDirectory">Where local.settings.json is looked for.</param>
    /// <param name="configure">Extra configuration (tests).</param>
    public static IHost Build(string[] args, string settingsDirectory, Action<IConfigurationBuilder>? configure = null)
    {
        var hostJson = Path.Combine(AppContext.BaseDirectory, "host.json");
        var builder = new HostBuilder()
            .ConfigureAppConfiguration(c =>
            {
                c.AddLocalSettings(Path.Combine(settingsDirectory, "local.settings.json"));
                c.AddEnvironmentVariables();
                c.AddCommandLine(args);
                configure?.Invoke(c);
            })
            .ConfigureLogging(l => l.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information)
                .AddFilter("Azure.Core", LogLevel.Warning).AddFilter("Azure.Storage", LogLevel.Warning)
                .AddFilter("Host", LogLevel.Warning).AddFilter("Microsoft.Azure.WebJobs", LogLevel.Warning)

                // Kestrel's and routing's lines per request (six of them) cost more CPU than the request itself at
                // hundreds of reports a second; the app logs what each request did.
                .AddFilter("Microsoft.AspNetCore", LogLevel.Warning))
            .ConfigureWebJobs((context, b) =>
            {
                b.AddAzureStorageQueues(o =>
                {
                    HostJson.ApplyQueueOptions(hostJson, o);
                    HostJson.ApplyQueueOverrides(context.Configuration, o);
                });
            })
            .ConfigureServices((context, services) =>
            {
                services.AddMtaCore(context.Configuration);
                services.AddMtaTelemetry(context.Configuration, "MtaFunctions.LocalHost");
                services.AddSingleton<QueueFunctions>();
                services.AddHostedService<TimerService>();
                services.AddSingleton(new TimerSchedule(
                    "RefreshStsPolicies", MtaStsRefreshHandler.Schedule, (sp, ct) => sp.GetRequiredService<MtaStsRefreshHandler>().RunAsync(ct)));
                services.AddSingleton(new TimerSchedule(
                    "PruneDeliveries", DeliveryRetention.Schedule, (sp, ct) => sp.GetRequiredService<DeliveryRetention>().RunAsync(ct)));
                services.AddSingleton(new TimerSchedule(
                    "SendTlsReports", TlsReportDefaults.Schedule, (sp, ct) => sp.GetRequiredService<TlsReportSender>().RunAsync(ct)));
            })
            .ConfigureLocalHttp();
        return builder.Build();
    }
}
