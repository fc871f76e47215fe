using Cronos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MtaFunctions.LocalHost;

/// <summary>
/// Runs a handler on an NCRONTAB schedule (with seconds, as the Functions TimerTrigger reads it), so LocalHost
/// fires the same timer handlers as the Function App.
/// </summary>
/// <param name="name">The function's name, for logs.</param>
/// <param name="schedule">Six-field NCRONTAB expression.</param>
/// <param name="handler">What a tick runs.</param>
/// <param name="time">The clock.</param>
/// <param name="logger">Where failed ticks are logged.</param>
public sealed partial class CronTimerService(
    string name, string schedule, Func<CancellationToken, Task> handler, TimeProvider time, ILogger<CronTimerService> logger)
    : BackgroundService
{
    private readonly CronExpression _cron = CronExpression.Parse(schedule, CronFormat.IncludeSeconds);

    // The schedule counts from when the service was made, not from when ExecuteAsync happens to start
    // (BackgroundService starts it on the thread pool).
    private readonly DateTimeOffset _created = time.GetUtcNow();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var last = _created;
        while (!stoppingToken.IsCancellationRequested)
        {
            // The next occurrence follows the last one (no drift); one that is already past runs at once, once,
            // as the Functions host runs a past-due timer.
            var now = time.GetUtcNow();
            var next = _cron.GetNextOccurrence(last, TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }

            last = next.Value < now ? now : next.Value;
            try
            {
                await Task.Delay(next.Value > now ? next.Value - now : TimeSpan.Zero, time, stoppingToken).ConfigureAwait(false);
                await handler(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed tick must not stop the schedule; the Functions host behaves the same.
            catch (Exception e)
#pragma warning restore CA1031
            {
                TickFailed(logger, name, e);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Error, "Timer {Name} failed")]
    private static partial void TickFailed(ILogger logger, string name, Exception exception);
}
