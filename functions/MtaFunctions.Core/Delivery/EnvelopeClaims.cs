using System.Collections.Concurrent;

namespace MtaFunctions.Core.Delivery;

/// <summary>The envelopes this process is delivering now, by message id: one queue message of an envelope at a time.</summary>
/// <remarks>
/// Two queue messages of one envelope (a producer's enqueue retried after a lost response, a DSN re-queued after a
/// crash) usually sit next to each other in the queue, so one instance takes both in the same batch and runs them at
/// once. Each would read the Deliveries rows before the other wrote any and both would send. Here the second waits
/// until the first has finished, then reads the rows and sends only what is still owed. In memory only: no storage
/// request, and no lock shared by other envelopes (one dictionary entry per envelope in delivery).
/// </remarks>
public sealed class EnvelopeClaims
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new(StringComparer.Ordinal);

    /// <summary>
    /// Claims <paramref name="messageId"/> for the caller until the returned claim is disposed, waiting first for any
    /// other holder in this process to let go.
    /// </summary>
    /// <param name="messageId">The envelope's message id.</param>
    /// <param name="waiting">Called once with the id if the claim has to wait (another queue message of the envelope is in delivery here).</param>
    /// <param name="cancellationToken">Host shutdown: the caller gives up waiting and its queue message goes back to the queue.</param>
    public async ValueTask<Claim> TakeAsync(string messageId, Action<string>? waiting, CancellationToken cancellationToken)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (!_held.TryAdd(messageId, mine))
        {
            if (_held.TryGetValue(messageId, out var other))
            {
                waiting?.Invoke(messageId);
                waiting = null;
                await other.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return new Claim(this, messageId, mine);
    }

    /// <summary>One envelope claimed; disposing it lets the next queue message of the envelope go on.</summary>
    public sealed class Claim : IDisposable
    {
        private readonly EnvelopeClaims _owner;
        private readonly string _messageId;
        private readonly TaskCompletionSource _held;

        internal Claim(EnvelopeClaims owner, string messageId, TaskCompletionSource held)
        {
            _owner = owner;
            _messageId = messageId;
            _held = held;
        }

        public void Dispose()
        {
            // Removed before the waiters wake, so the first of them to try finds the id free.
            if (_owner._held.TryRemove(KeyValuePair.Create(_messageId, _held)))
            {
                _held.TrySetResult();
            }
        }
    }
}
