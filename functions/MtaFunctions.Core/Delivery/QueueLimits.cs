namespace MtaFunctions.Core.Delivery;

/// <summary>Queue behaviour the handler relies on; host.json must say the same (a test checks it).</summary>
public static class QueueLimits
{
    /// <summary>
    /// host.json <c>extensions.queues.maxDequeueCount</c>: after this many failed runs the host would move the
    /// message to the poison queue itself, without a reason; the handler does it first, with the reason.
    /// </summary>
    public const int MaxDequeueCount = 5;
}
