namespace MtaFunctions.Client.Contract;

/// <summary>Where one recipient of one message stands.</summary>
public enum DeliveryState
{
    /// <summary>Queued; no attempt has finished yet.</summary>
    Pending,

    /// <summary>A temporary failure; the domain is queued again for a later attempt.</summary>
    Deferred,

    /// <summary>The receiving MX answered 2xx to the message: final.</summary>
    Delivered,

    /// <summary>Permanent failure (5xx, null MX, lifetime exceeded); a DSN went to the sender: final.</summary>
    Bounced,

    /// <summary>Permanent failure with no DSN (the message was itself a bounce): final.</summary>
    Failed,
}

/// <summary>Helpers over <see cref="DeliveryState"/>.</summary>
public static class DeliveryStateExtensions
{
    /// <summary>Final states are never attempted again; a redelivered queue message skips them.</summary>
    public static bool IsFinal(this DeliveryState state) =>
        state is DeliveryState.Delivered or DeliveryState.Bounced or DeliveryState.Failed;
}
