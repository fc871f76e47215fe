using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.LocalHost;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>A Function App timer and LocalHost's schedule of the same name fire on the same NCRONTAB.</summary>
public static class TimerSchedules
{
    /// <summary>Asserts that <paramref name="function"/>'s <c>Run</c> trigger and LocalHost's schedule both use <paramref name="cron"/>.</summary>
    public static void AssertSame(Type function, string cron)
    {
        var attribute = function.GetMethod("Run")!.GetParameters()[0]
            .GetCustomAttributes(typeof(TimerTriggerAttribute), false).Cast<TimerTriggerAttribute>().Single();
        Assert.Equal(cron, attribute.Schedule);

        using var host = LocalHostBuilder.Build([], Path.GetTempPath(), c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
            ["Queue:Outbound:Hostname"] = "mta.sender.test",
        }));
        var schedule = Assert.Single(host.Services.GetServices<TimerSchedule>(), s => s.Name == function.Name);
        Assert.Equal(cron, schedule.Cron);
    }
}
