using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions;

/// <summary>Delivers one message of the <c>outbound</c> queue.</summary>
public sealed class DeliverOutbound(OutboundDeliveryHandler handler)
{
    [Function(nameof(DeliverOutbound))]
    public Task Run(
        [QueueTrigger(StorageNames.OutboundQueue, Connection = StorageNames.ConnectionSetting)] QueueMessage message,
        CancellationToken cancellationToken) =>
        handler.HandleQueueMessageAsync(message, cancellationToken);
}
