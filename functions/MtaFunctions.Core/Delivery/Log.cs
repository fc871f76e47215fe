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

    [LoggerMessage(6, LogLevel.Warning, "{MessageId}: state write failed (try {Attempt}); retrying")]
    public static partial void StateWriteRetry(ILogger logger, Exception exception, string messageId, int attempt);

    [LoggerMessage(7, LogLevel.Error, "{MessageId}: poisoned, but its status rows could not be written")]
    public static partial void PoisonStatusFailed(ILogger logger, Exception exception, string messageId);

    [LoggerMessage(8, LogLevel.Warning, "Instance {Instance} {Why} (last written {Heartbeat:u}): {Released} of its {Count} in-flight message(s) made visible again, {Slots} destination connection slot(s) freed")]
    public static partial void InFlightRecovered(ILogger logger, string instance, string why, DateTimeOffset heartbeat, int released, int count, int slots);

    [LoggerMessage(11, LogLevel.Warning, "Instance {Instance} is dead but its destination connection slots could not be freed; they lapse by themselves")]
    public static partial void SlotsNotFreed(ILogger logger, Exception exception, string instance);

    [LoggerMessage(9, LogLevel.Warning, "In-flight record or crash recovery failed; retrying")]
    public static partial void InFlightFailed(ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "{MessageId}: the in-flight row listing it was not written within {Wait}; sent anyway (a crash now means the listener's 10 minutes)")]
    public static partial void InFlightWriteLate(ILogger logger, string messageId, TimeSpan wait);

    [LoggerMessage(12, LogLevel.Information, "{MessageId}: another queue message of this envelope is in delivery in this process; waiting for it to end, then sending only what it left owed")]
    public static partial void WaitingForOtherCopy(ILogger logger, string messageId);

    [LoggerMessage(13, LogLevel.Information, "{MessageId}: its body is gone and every recipient is final (another queue message of this envelope delivered it); nothing to send")]
    public static partial void AlreadyFinal(ILogger logger, string messageId);

    [LoggerMessage(14, LogLevel.Warning, "{MessageId}: handed out {DequeueCount} times; its state could not be read, so it is poisoned without knowing which recipients are final")]
    public static partial void PoisonStateUnknown(ILogger logger, Exception exception, string messageId, long dequeueCount);

    [LoggerMessage(15, LogLevel.Information, "{MessageId}: handed out {DequeueCount} times, but every recipient is final (the host stopped after delivering it); nothing to poison")]
    public static partial void FinalWhenTakenTooOften(ILogger logger, string messageId, long dequeueCount);
}
