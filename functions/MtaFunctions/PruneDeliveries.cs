using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Storage;

namespace MtaFunctions;

/// <summary>Deletes delivery rows older than <c>Queue:Outbound:Deliveries:Retention</c>, daily.</summary>
public sealed class PruneDeliveries(DeliveryRetention retention)
{
    [Function(nameof(PruneDeliveries))]
    public Task Run([TimerTrigger(DeliveryRetention.Schedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        return retention.RunAsync(cancellationToken);
    }
}
