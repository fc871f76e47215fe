using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Telemetry;

/// <summary>
/// Samples the outbound queue every minute for <c>mtafunctions.queue.length</c> (approximate count, hidden retries
/// included) and <c>mtafunctions.queue.oldest_age</c> (oldest queuedAt among the messages due now, a peek of 32).
/// </summary>
/// <remarks>A failed sample is logged and skipped: telemetry never stops delivery.</remarks>
public sealed partial class QueueMetricsSampler(StorageAccount storage, TimeProvider time, ILogger<QueueMetricsSampler> logger) : BackgroundService
{
    /// <summary>How often the queue is sampled.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Takes one sample now.</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        var queue = storage.Queues.GetQueueClient(StorageNames.OutboundQueue);
        var properties = await queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false);
        var peeked = (await queue.PeekMessagesAsync(32, cancellationToken).ConfigureAwait(false)).Value;
        var oldest = EnvelopeSerializer.OldestQueuedAt(peeked.Select(m => m.Body.ToString()));

        var now = time.GetUtcNow();
        MtaTelemetry.SetQueueSample(properties.Value.ApproximateMessagesCount, oldest is { } o && o < now ? now - o : TimeSpan.Zero);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await SampleAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                SampleFailed(logger, e);
            }

            try
            {
                await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Queue metrics sample failed; the next sample is in a minute")]
    private static partial void SampleFailed(ILogger logger, Exception exception);
}
