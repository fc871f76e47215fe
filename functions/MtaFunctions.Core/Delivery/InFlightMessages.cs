using System.Collections.Concurrent;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Delivery;

/// <summary>The outbound queue messages this process is working on, with the pop receipts it got for them.</summary>
/// <remarks>
/// Kept in memory and written out by <see cref="InFlightRecovery"/> as messages are taken, so that another
/// instance can hand a killed process's messages back to the queue (see there for why and what it costs). A
/// message is sent only once a written row lists it (<see cref="Tracked.Written"/>): one write covers every
/// message taken since the previous one.
/// </remarks>
public sealed class InFlightMessages(InstanceIdentity identity)
{
    private readonly ConcurrentDictionary<string, Entry> _messages = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _added = new(0);
    private int _additions;
    private volatile bool _writing;

    /// <summary>This instance's name in the <c>InFlight</c> table (and on its destination slots): a fresh one per start.</summary>
    public string Instance => identity.Id;

    /// <summary>The process this instance runs in (written beside its row), or null where none can be named.</summary>
    public ProcessStamp? Process => identity.Process;

    /// <summary>Changes whenever a message is added.</summary>
    public int Added => Volatile.Read(ref _additions);

    /// <summary>Returns when a message was added since the last call, or after <paramref name="timeout"/>.</summary>
    public async Task WaitForAdditionAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await _added.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            // One wake-up covers every addition so far.
            while (_added.CurrentCount > 0 && _added.Wait(0, CancellationToken.None))
            {
            }
        }
    }

    /// <summary>
    /// Records a message until the returned handle is disposed. Its <see cref="Tracked.Written"/> completes once a
    /// row listing it was written (or the write failed: recovery is an aid, it never holds delivery up), and at
    /// once when no writer runs in this process.
    /// </summary>
    public Tracked Track(string messageId, string popReceipt)
    {
        var entry = new Entry(popReceipt, _writing);
        _messages[messageId] = entry;
        Interlocked.Increment(ref _additions);
        if (_added.CurrentCount == 0)
        {
            _added.Release();
        }

        // The writer stopped between the look and the add: nobody would complete this one.
        if (!_writing)
        {
            entry.Written.TrySetResult();
        }

        return new Tracked(this, messageId, entry.Written.Task);
    }

    /// <summary>The messages in flight now, and the waits that a successful write of them ends.</summary>
    /// <remarks>The waits are taken before the entries, so each belongs to an entry of the snapshot.</remarks>
    public InFlightSnapshot Snapshot()
    {
        var waiting = _messages.Values.Where(e => !e.Written.Task.IsCompleted).Select(e => e.Written).ToList();
        return new InFlightSnapshot(_messages.Select(m => new InFlightEntry(m.Key, m.Value.PopReceipt)).ToList(), waiting);
    }

    /// <summary>A writer of this instance's row runs from now on: messages taken wait for it.</summary>
    public void StartWriting() => _writing = true;

    /// <summary>The writer stopped: nobody waits for it any more.</summary>
    public void StopWriting()
    {
        _writing = false;
        foreach (var entry in _messages.Values)
        {
            entry.Written.TrySetResult();
        }
    }

    private void Remove(string messageId) => _messages.TryRemove(messageId, out _);

    private sealed class Entry(string popReceipt, bool waits)
    {
        public string PopReceipt { get; } = popReceipt;

        public TaskCompletionSource Written { get; } = NewWritten(waits);

        private static TaskCompletionSource NewWritten(bool waits)
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!waits)
            {
                written.SetResult();
            }

            return written;
        }
    }

    /// <summary>A message being worked on; disposing it takes it off the record.</summary>
    public sealed class Tracked(InFlightMessages owner, string messageId, Task written) : IDisposable
    {
        private int _disposed;

        /// <summary>Completes once a written row lists the message (see <see cref="Track"/>).</summary>
        public Task Written { get; } = written;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(messageId);
            }
        }
    }
}

/// <summary>What a write of the in-flight row lists, and whom it releases.</summary>
public sealed record InFlightSnapshot(IReadOnlyList<InFlightEntry> Entries, IReadOnlyList<TaskCompletionSource> Waiting)
{
    /// <summary>Lets every message of the snapshot go on to its SMTP send.</summary>
    public void Release()
    {
        foreach (var waiting in Waiting)
        {
            waiting.TrySetResult();
        }
    }
}
