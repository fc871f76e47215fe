namespace MtaFunctions.Core.Delivery;

/// <summary>Queue behaviour the handler relies on; host.json must say the same (a test checks it).</summary>
public static class QueueLimits
{
    /// <summary>
    /// The handler's own limit: a run that fails at this dequeue count poisons the message with its reason, and a
    /// message handed out more often than this (earlier runs ended without a result: the host was killed,
    /// crashed or timed out) is poisoned with that reason before anything is sent.
    /// </summary>
    public const int MaxDequeueCount = 5;

    /// <summary>
    /// host.json <c>extensions.queues.maxDequeueCount</c>: above <see cref="MaxDequeueCount"/>, so that the handler,
    /// not the WebJobs listener, poisons a message (the listener moves it to the poison queue as it is, without a
    /// reason and without a status row). The listener's own limit is only reached by a message that was taken this
    /// often without the handler ever getting to run it.
    /// </summary>
    public const int HostMaxDequeueCount = 10;
}
