using Microsoft.Azure.Functions.Worker;
using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions;

/// <summary>Refreshes cached MTA-STS policies about daily, spread with jitter (RFC 8461 §3.3).</summary>
public sealed class RefreshStsPolicies(MtaStsRefreshHandler handler)
{
    [Function(nameof(RefreshStsPolicies))]
    public Task Run([TimerTrigger(MtaStsRefreshHandler.Schedule)] TimerInfo timer, CancellationToken cancellationToken)
    {
        _ = timer;
        return handler.RunAsync(cancellationToken);
    }
}
