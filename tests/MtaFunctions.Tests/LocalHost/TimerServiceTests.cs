using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.LocalHost;

namespace MtaFunctions.Tests.LocalHost;

public sealed class TimerServiceTests
{
    [Fact]
    public async Task ExecuteAsync_ScheduleDue_RunsHandlerAndKeepsGoingAfterAFailure()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-28T10:00:00.5Z", System.Globalization.CultureInfo.InvariantCulture));
        var runs = 0;
        var secondRun = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var schedule = new TimerSchedule("Every10s", "*/10 * * * * *", (_, _) =>
        {
            if (Interlocked.Increment(ref runs) == 1)
            {
                throw new InvalidOperationException("first run fails");
            }

            secondRun.TrySetResult();
            return Task.CompletedTask;
        });
        using var service = new TimerService([schedule], new ServiceCollection().BuildServiceProvider(), time, NullLogger<TimerService>.Instance);
        await service.StartAsync(TestContext.Current.CancellationToken);

        // Nothing runs before the first occurrence (10:00:10).
        time.Advance(TimeSpan.FromSeconds(5));
        await Task.Yield();
        Assert.Equal(0, Volatile.Read(ref runs));

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!secondRun.Task.IsCompleted && !stop.IsCancellationRequested)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.True(secondRun.Task.IsCompleted, "the schedule stopped after a failed run");
        await service.StopAsync(TestContext.Current.CancellationToken);
    }
}
