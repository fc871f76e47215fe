using Azure.Core;
using Azure.Core.Pipeline;

namespace MtaFunctions.Benchmarks;

/// <summary>Counts storage requests (transactions, as Azure bills them) by service and operation.</summary>
public sealed class CountingPolicy : HttpPipelineSynchronousPolicy
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);

    public void Reset() => Interlocked.Exchange(ref _count, 0);
}
