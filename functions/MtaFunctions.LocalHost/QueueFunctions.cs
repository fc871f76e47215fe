using Azure.Storage.Queues.Models;
using Microsoft.Azure.WebJobs;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;

namespace MtaFunctions.LocalHost;

/// <summary>The Function App's queue triggers, bound by the WebJobs SDK to the same handlers.</summary>
public sealed class QueueFunctions(OutboundDeliveryHandler delivery)
{
    [FunctionName("DeliverOutbound")]
    public Task DeliverOutbound([QueueTrigger(StorageNames.OutboundQueue)] QueueMessage message, CancellationToken cancellationToken) =>
        delivery.HandleQueueMessageAsync(message, cancellationToken);
}
