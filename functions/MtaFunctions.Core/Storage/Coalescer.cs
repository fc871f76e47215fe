namespace MtaFunctions.Core.Storage;

/// <summary>
/// Gathers requests that arrive within a short window and hands them to one flush together, so that many
/// concurrent callers share a storage operation; each caller still gets its own result or failure.
/// </summary>
/// <remarks>
/// The window opens with the first request and closes after <c>window</c> or when <c>full</c> requests wait,
/// whichever is first. A caller alone waits the window once; nothing waits for a timer when nobody asks.
/// </remarks>
/// <typeparam name="TIn">What a caller asks for.</typeparam>
/// <typeparam name="TOut">What it gets back.</typeparam>
public sealed class Coalescer<TIn, TOut>(TimeSpan window, int full, Func<IReadOnlyList<Coalescer<TIn, TOut>.Request>, Task> flush)
{
    private readonly Lock _gate = new();
    private List<Request> _waiting = [];
    private TaskCompletionSource? _full;

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

    private async Task FlushAfterWindowAsync(Task filled)
    {
        await Task.WhenAny(Task.Delay(window), filled).ConfigureAwait(false);
        List<Request> batch;
        lock (_gate)
        {
            batch = _waiting;
            _waiting = [];
        }

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
