using Cronos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MtaFunctions.LocalHost;

/// <summary>One timer of the Function App, run by LocalHost on the same schedule.</summary>
/// <param name="Name">The Function name, for logs.</param>
/// <param name="Cron">NCRONTAB with seconds, as in the <c>TimerTrigger</c> attribute.</param>
/// <param name="RunAsync">The Core handler.</param>
public sealed record TimerSchedule(string Name, string Cron, Func<IServiceProvider, CancellationToken, Task> RunAsync);

/// <summary>
/// Runs every registered <see cref="TimerSchedule"/> (Cronos), so LocalHost fires the same handlers as the
/// Function App's timer triggers. A failing run is logged and the schedule goes on.
/// </summary>
public sealed partial class TimerService(IEnumerable<TimerSchedule> schedules, IServiceProvider services, TimeProvider time, ILogger<TimerService> logger)
    : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(schedules.Select(s => RunScheduleAsync(s, stoppingToken)));

    private async Task RunScheduleAsync(TimerSchedule schedule, CancellationToken stoppingToken)
    {
        var cron = CronExpression.Parse(schedule.Cron, CronFormat.IncludeSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = cron.GetNextOccurrence(now.UtcDateTime, TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }

            try
            {
                await Task.Delay(next.Value - now.UtcDateTime, time, stoppingToken).ConfigureAwait(false);
                await schedule.RunAsync(services, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A timer run's failure must not stop the schedule; it is logged.
            catch (Exception e)
#pragma warning restore CA1031
            {
                TimerFailed(logger, e, schedule.Name);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Timer {Name} failed")]
    private static partial void TimerFailed(ILogger logger, Exception e, string name);
}
