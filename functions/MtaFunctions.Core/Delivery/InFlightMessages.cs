using System.Collections.Concurrent;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Delivery;

/// <summary>The outbound queue messages this process is working on, with the pop receipts it got for them.</summary>
/// <remarks>
/// Kept in memory and written out by <see cref="InFlightRecovery"/> as messages are taken, so that another
/// instance can hand a killed process's messages back to the queue (see there for why and what it costs).
/// </remarks>
public sealed class InFlightMessages
{
    private readonly ConcurrentDictionary<string, string> _messages = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _added = new(0);
    private int _additions;

    /// <summary>This process's name in the <c>InFlight</c> table: a fresh one per start.</summary>
    public string Instance { get; } = $"{Sanitize(Environment.MachineName)}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

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

    /// <summary>Records a message until the returned handle is disposed.</summary>
    public IDisposable Track(string messageId, string popReceipt)
    {
        _messages[messageId] = popReceipt;
        Interlocked.Increment(ref _additions);
        if (_added.CurrentCount == 0)
        {
            _added.Release();
        }

        return new Handle(this, messageId);
    }

    /// <summary>The messages in flight now.</summary>
    public IReadOnlyList<InFlightEntry> Snapshot() => _messages.Select(m => new InFlightEntry(m.Key, m.Value)).ToList();

    private void Remove(string messageId) => _messages.TryRemove(messageId, out _);

    // Row keys may not contain / \ # ? or control characters.
    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_').ToArray());

    private sealed class Handle(InFlightMessages owner, string messageId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(messageId);
            }
        }
    }
}
