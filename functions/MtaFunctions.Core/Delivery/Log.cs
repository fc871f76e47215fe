using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Delivery;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Error, "Message moved to poison queue: {Reason}")]
    public static partial void Poisoned(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Information, "{MessageId} to {Recipient}: {State} after attempt {Attempt}: {Reply}")]
    public static partial void Outcome(ILogger logger, string messageId, string recipient, string state, int attempt, string reply);

    [LoggerMessage(3, LogLevel.Information, "{MessageId}: {Count} recipient(s) at {Domain} deferred until {NextAttempt:u}")]
    public static partial void Deferred(ILogger logger, string messageId, int count, string domain, DateTimeOffset nextAttempt);

    [LoggerMessage(4, LogLevel.Warning, "{MessageId}: bounce queued as {DsnId} for {Count} recipient(s)")]
    public static partial void Bounced(ILogger logger, string messageId, string dsnId, int count);

    [LoggerMessage(5, LogLevel.Error, "{MessageId}: processing failed on dequeue {DequeueCount}; the queue will retry")]
    public static partial void Failed(ILogger logger, Exception exception, string messageId, long dequeueCount);
}
