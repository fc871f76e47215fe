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
