using Azure;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// A connection slot of a destination held by this instance: renewed in the background while the connection is
/// open, freed when disposed.
/// </summary>
public sealed class DestinationLease : IAsyncDisposable
{
    private readonly DestinationLimiter _limiter;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private ETag _etag;
    private int _disposed;

    internal DestinationLease(DestinationLimiter limiter, string destination, int index, string holder, ETag etag)
    {
        _limiter = limiter;
        Destination = destination;
        Index = index;
        Holder = holder;
        _etag = etag;
        _renewal = RenewAsync();
    }

    /// <summary>The destination (MX host or route) the slot belongs to.</summary>
    public string Destination { get; }

    /// <summary>The slot number.</summary>
    public int Index { get; }

    /// <summary>Who holds it: instance and connection.</summary>
    public string Holder { get; }

    private volatile bool _held = true;
    private volatile Action? _lost;

    /// <summary>
    /// False once a renewal found the slot gone (it lapsed, e.g. the instance was paused for a minute, and may be
    /// someone else's now) or could not reach storage (it will lapse): the connection must not carry more messages.
    /// </summary>
    public bool Held => _held;

    /// <summary>Runs <paramref name="action"/> when the slot is lost (at once if it is already); one action, the last given.</summary>
    internal void WhenLost(Action action)
    {
        _lost = action;
        if (!_held)
        {
            action();
        }
    }

    private void Lose()
    {
        _held = false;
        _lost?.Invoke();
    }

    private async Task RenewAsync()
    {
        try
        {
            while (Held)
            {
                await Task.Delay(DestinationLimiter.RenewEvery, _limiter.Time, _stop.Token).ConfigureAwait(false);
                if (await _limiter.RenewAsync(this, _etag, _stop.Token).ConfigureAwait(false) is { } etag)
                {
                    _etag = etag;
                }
                else
                {
                    Lose();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed: the slot is being released.
        }
        catch (RequestFailedException)
        {
            // Storage unreachable: the hold lapses by itself; the connection finishes what it is sending, no more.
            Lose();
        }
    }

    /// <summary>Stops renewing and frees the slot.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _renewal.ConfigureAwait(false);
        _stop.Dispose();
        if (Held)
        {
            try
            {
                await _limiter.ReleaseAsync(this, _etag).ConfigureAwait(false);
            }
            catch (RequestFailedException)
            {
                // Storage unreachable: the hold lapses by itself within a minute.
            }
        }
    }
}
