using MtaFunctions.Client;

namespace MtaFunctions.Tests.Delivery;

/// <summary>How concurrent requests are gathered into shared storage operations, without storage: the flush is the test's.</summary>
public sealed class CoalescerTests
{
    [Fact]
    public async Task GroupCommit_FirstGoesAtOnce_ThoseArrivingMeanwhileGoTogetherNext()
    {
        var batches = new List<int[]>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coalescer = new Coalescer<int, int>(TimeSpan.Zero, 100, async requests =>
        {
            lock (batches)
            {
                batches.Add([.. requests.Select(r => r.Value)]);
            }

            if (requests[0].Value == 1)
            {
                started.SetResult();
                await release.Task;
            }

            foreach (var request in requests)
            {
                request.Done.TrySetResult(request.Value * 10);
            }
        });

        var first = coalescer.Add(1);
        await started.Task;

        var later = new[] { coalescer.Add(2), coalescer.Add(3), coalescer.Add(4) };
        Assert.False(first.IsCompleted);
        release.SetResult();

        Assert.Equal(10, await first);
        var results = await Task.WhenAll(later);
        Assert.Equal(new[] { 20, 30, 40 }, results);
        Assert.Equal(new[] { new[] { 1 }, new[] { 2, 3, 4 } }, batches);
    }

    [Fact]
    public async Task GroupCommit_TwoAtOnce_AThirdWaitsForEither_ASlowFlushHoldsNoOneElse()
    {
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var coalescer = new Coalescer<int, int>(TimeSpan.Zero, 100, async requests =>
        {
            if (requests[0].Value == 1)
            {
                await slow.Task;
            }

            foreach (var request in requests)
            {
                request.Done.TrySetResult(request.Value);
            }
        }, concurrent: 2);

        var first = coalescer.Add(1);
        // Bounded waits: held behind the slow flush, these would never complete.
        Assert.Equal(2, await coalescer.Add(2).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal(3, await coalescer.Add(3).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.False(first.IsCompleted);
        slow.SetResult();
        Assert.Equal(1, await first);
    }

    [Fact]
    public async Task Window_FullBeforeTheWindowEnds_FlushesAtOnce()
    {
        var coalescer = new Coalescer<int, int>(TimeSpan.FromHours(1), 3, requests =>
        {
            foreach (var request in requests)
            {
                request.Done.TrySetResult(requests.Count);
            }

            return Task.CompletedTask;
        });

        // An hour's window: only reaching `full` can end it within the test.
        var sizes = await Task.WhenAll(coalescer.Add(1), coalescer.Add(2), coalescer.Add(3));
        Assert.Equal(new[] { 3, 3, 3 }, sizes);
    }

    [Fact]
    public async Task Flush_ThrowsOrForgetsARequest_EveryCallerGetsAFailure()
    {
        var throwing = new Coalescer<int, int>(TimeSpan.Zero, 10, _ => throw new InvalidOperationException("storage down"));
        var forgetting = new Coalescer<int, int>(TimeSpan.Zero, 10, requests =>
        {
            foreach (var request in requests.Where(r => r.Value == 1))
            {
                request.Done.TrySetResult(1);
            }

            return Task.CompletedTask;
        });

        Assert.Equal("storage down", (await Assert.ThrowsAsync<InvalidOperationException>(() => throwing.Add(1))).Message);
        Assert.Equal(1, await forgetting.Add(1));
        Assert.Contains("without a result", (await Assert.ThrowsAsync<InvalidOperationException>(() => forgetting.Add(2))).Message, StringComparison.Ordinal);
    }
}
