using MtaFunctions.Core.Delivery;

namespace MtaFunctions.Tests.Delivery;

/// <summary>One queue message of an envelope at a time in a process; other envelopes never wait.</summary>
public sealed class EnvelopeClaimsTests
{
    [Fact]
    public async Task OtherEnvelope_TakenAtOnce_SameEnvelope_WaitsUntilReleased()
    {
        var claims = new EnvelopeClaims();
        var waited = new List<string>();
        var first = await claims.TakeAsync("m1", waited.Add, CancellationToken.None);

        var other = claims.TakeAsync("m2", waited.Add, CancellationToken.None);
        Assert.True(other.IsCompletedSuccessfully);
        var second = claims.TakeAsync("m1", waited.Add, CancellationToken.None);
        Assert.False(second.IsCompleted);
        Assert.Equal(["m1"], waited);

        first.Dispose();
        using var taken = await second;
        (await other).Dispose();
        Assert.Equal(["m1"], waited);
    }

    [Fact]
    public async Task ThreeCopies_OneAtATime_EachGetsItsTurn()
    {
        var claims = new EnvelopeClaims();
        var holder = await claims.TakeAsync("m", null, CancellationToken.None);
        var one = claims.TakeAsync("m", null, CancellationToken.None).AsTask();
        var two = claims.TakeAsync("m", null, CancellationToken.None).AsTask();

        holder.Dispose();
        var next = await Task.WhenAny(one, two);
        var last = next == one ? two : one;

        // The other copy waits for this one, whatever the order they woke in.
        Assert.False(last.IsCompleted);
        (await next).Dispose();
        (await last).Dispose();
        Assert.True(claims.TakeAsync("m", null, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ManyCopiesOfTenEnvelopes_OnThePool_NeverTwoInsideForOneEnvelope_EveryCopyGetsATurn()
    {
        var claims = new EnvelopeClaims();
        var inside = new int[10];
        var most = new int[10];
        var turns = 0;
        var copies = Enumerable.Range(0, 2000).Select(i => Task.Run(async () =>
        {
            var envelope = i % 10;
            using (await claims.TakeAsync($"m{envelope}", null, CancellationToken.None))
            {
                var now = Interlocked.Increment(ref inside[envelope]);
                InterlockedMax(ref most[envelope], now);
                await Task.Yield();
                Interlocked.Decrement(ref inside[envelope]);
                Interlocked.Increment(ref turns);
            }
        }));

        await Task.WhenAll(copies);

        Assert.Equal(2000, turns);
        Assert.All(most, m => Assert.Equal(1, m));
        Assert.All(Enumerable.Range(0, 10), e => Assert.True(claims.TakeAsync($"m{e}", null, CancellationToken.None).IsCompletedSuccessfully));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    [Fact]
    public async Task WaiterCancelled_Throws_ClaimStaysWithItsHolder()
    {
        var claims = new EnvelopeClaims();
        var holder = await claims.TakeAsync("m", null, CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var waiter = claims.TakeAsync("m", null, stop.Token).AsTask();

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter);
        var after = claims.TakeAsync("m", null, CancellationToken.None).AsTask();
        Assert.False(after.IsCompleted);
        holder.Dispose();
        (await after).Dispose();
    }
}
