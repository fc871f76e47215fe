namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>
/// The memory all reports being decompressed, read and stored at once may use together
/// (<c>Report:Tls:Inbound:DecodeMemory</c>): a report waits for its share before it is inflated and keeps it
/// until it is stored, so any mix of requests stays within it instead of running the instance out of memory.
/// </summary>
/// <remarks>First come, first served: a large report waiting is not overtaken by small ones for ever.</remarks>
public sealed class DecodeMemoryBudget(long capacity)
{
    private readonly Queue<(long Bytes, TaskCompletionSource Ready)> _waiting = new();
    private long _free = capacity;

    /// <summary>The whole budget in bytes.</summary>
    public long Capacity { get; } = capacity;

    /// <summary>Waits until <paramref name="bytes"/> (at most the whole budget) are free and takes them; dispose to give them back.</summary>
    public async Task<IDisposable> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Clamp(bytes, 1, Capacity);
        TaskCompletionSource ready;
        lock (_waiting)
        {
            if (_waiting.Count == 0 && _free >= bytes)
            {
                _free -= bytes;
                return new Lease(this, bytes);
            }

            ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((bytes, ready));
        }

        try
        {
            await ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_waiting)
            {
                if (!ready.Task.IsCompleted)
                {
                    // Still queued: the grant loop skips cancelled entries.
                    ready.TrySetCanceled(cancellationToken);
                    throw;
                }
            }

            // Granted meanwhile: give it back.
            Release(bytes);
            throw;
        }

        return new Lease(this, bytes);
    }

    private void Release(long bytes)
    {
        lock (_waiting)
        {
            _free += bytes;
            while (_waiting.TryPeek(out var next))
            {
                if (next.Ready.Task.IsCanceled)
                {
                    _waiting.Dequeue();
                    continue;
                }

                if (next.Bytes > _free)
                {
                    break;
                }

                _waiting.Dequeue();
                _free -= next.Bytes;
                next.Ready.TrySetResult();
            }
        }
    }

    private sealed class Lease(DecodeMemoryBudget budget, long bytes) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                budget.Release(bytes);
            }
        }
    }
}
