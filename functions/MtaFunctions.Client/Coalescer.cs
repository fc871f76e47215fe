namespace MtaFunctions.Client;

/// <summary>
/// Gathers requests that arrive within a short window and hands them to one flush together, so that many
/// concurrent callers share a storage operation (a table transaction, a queue message); each caller still gets its
/// own result or failure.
/// </summary>
/// <remarks>
/// With a window, it opens with the first request and closes after <c>window</c> or when <c>full</c> requests
/// wait, whichever is first. With <see cref="TimeSpan.Zero"/> it is a group commit: a request goes at once while
/// fewer than <c>concurrent</c> flushes run; those that arrive while that many run go together (at most
/// <c>full</c> at a time) as soon as one ends. The busier the callers the larger the batches, and one slow flush
/// does not hold every caller behind it.
/// </remarks>
/// <typeparam name="TIn">What a caller asks for.</typeparam>
/// <typeparam name="TOut">What it gets back.</typeparam>
public sealed class Coalescer<TIn, TOut>(TimeSpan window, int full, Func<IReadOnlyList<Coalescer<TIn, TOut>.Request>, Task> flush, int concurrent = 1)
{
    private readonly Lock _gate = new();
    private List<Request> _waiting = [];
    private TaskCompletionSource? _full;
    private int _flushing;

    /// <summary>One caller's request and the task it waits on.</summary>
    /// <param name="Value">What was asked.</param>
    public sealed record Request(TIn Value)
    {
        /// <summary>Completed by the flush with this request's result or failure.</summary>
        public TaskCompletionSource<TOut> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Adds a request to the open window (opening one if none is).</summary>
    public Task<TOut> Add(TIn value)
    {
        var request = new Request(value);
        if (window == TimeSpan.Zero)
        {
            bool start;
            lock (_gate)
            {
                _waiting.Add(request);
                start = _flushing < concurrent;
                if (start)
                {
                    _flushing++;
                }
            }

            if (start)
            {
                _ = FlushWhileWaitingAsync();
            }

            return request.Done.Task;
        }

        TaskCompletionSource? opened = null;
        TaskCompletionSource? filled = null;
        lock (_gate)
        {
            _waiting.Add(request);
            if (_waiting.Count == 1)
            {
                opened = _full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (_waiting.Count == full)
            {
                filled = _full;
            }
        }

        if (opened is not null)
        {
            _ = FlushAfterWindowAsync(opened.Task);
        }

        filled?.TrySetResult();
        return request.Done.Task;
    }

    private async Task FlushWhileWaitingAsync()
    {
        // Started on the caller's thread, not queued to the thread pool: in a freshly started host the pool is
        // short of threads, and a queued flush waited hundreds of milliseconds there (the soak-kill benchmark's
        // crash duplicates were stored that long before the kill).
        while (true)
        {
            List<Request> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _flushing--;
                    return;
                }

                if (_waiting.Count <= full)
                {
                    batch = _waiting;
                    _waiting = [];
                }
                else
                {
                    batch = _waiting[..full];
                    _waiting.RemoveRange(0, full);
                }
            }

            await FlushAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task FlushAfterWindowAsync(Task filled)
    {
        await Task.WhenAny(Task.Delay(window), filled).ConfigureAwait(false);
        List<Request> batch;
        lock (_gate)
        {
            batch = _waiting;
            _waiting = [];
        }

        await FlushAsync(batch).ConfigureAwait(false);
    }

    private async Task FlushAsync(List<Request> batch)
    {
        try
        {
            await flush(batch).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            foreach (var request in batch)
            {
                request.Done.TrySetException(e);
            }
        }

        // A flush that forgot a request must not leave its caller waiting forever.
        foreach (var request in batch)
        {
            request.Done.TrySetException(new InvalidOperationException("the batched storage operation ended without a result for this request"));
        }
    }
}
