using System.Collections.Concurrent;
using MailKit.Net.Smtp;
using MtaFunctions.Core.Policy;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// Idle SMTP connections kept open after a successful transaction, so that the next message to the same MX
/// address under the same policy skips TCP, EHLO and the TLS handshake (as Postfix's connection cache does).
/// </summary>
/// <remarks>
/// A connection is only handed out again for the same target and the same policy (TLS requirement,
/// certificate check and every input of its verdict, policy applied and its detail): its certificate was
/// judged under that policy once.
/// Connections idle for longer than the idle limit are closed with QUIT; a connection carries at most
/// <c>Queue:Outbound:Smtp:MaxMessagesPerConnection</c> messages.
/// </remarks>
public sealed class SmtpConnectionPool(TimeProvider time, TimeSpan idleLimit, int maxMessagesPerConnection) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<PooledConnection>> _idle = new();

    // An idle connection holds one of its destination's fleet-wide slots: close it once idle too long even when
    // no further message comes along to notice.
    private ITimer? _sweeper;

    /// <summary>Whether connections are kept at all.</summary>
    public bool Enabled => maxMessagesPerConnection > 1;

    /// <summary>The pool key of a session to <paramref name="target"/> under <paramref name="policy"/>.</summary>
    public static string KeyFor(SmtpTarget target, MxTlsPolicy policy) =>
        $"{target}|{target.ImplicitTls}|{target.Credentials?.UserName}|{policy.ServerName}|{policy.Tls}|{policy.Check.ReuseKey}|{policy.Applied}|{policy.Detail}";

    // Senders waiting for a fleet-wide slot, woken when a connection for their key comes back.
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _returned = new();

    /// <summary>Whether an idle connection for the key is waiting (a sender waiting for a fleet-wide slot takes it instead).</summary>
    internal bool HasIdle(string key) => _idle.TryGetValue(key, out var bag) && !bag.IsEmpty;

    /// <summary>Completes when a connection for the key is idle: at once if one is, else when one is put back.</summary>
    internal Task IdleAsync(string key)
    {
        if (HasIdle(key))
        {
            return Task.CompletedTask;
        }

        var signal = _returned.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        // A connection put back between the two looks: its signal may have gone to an earlier waiter.
        return HasIdle(key) ? Task.CompletedTask : signal.Task;
    }

    /// <summary>Takes an idle, still-open connection for the key, or null.</summary>
    internal PooledConnection? Take(string key)
    {
        if (!_idle.TryGetValue(key, out var bag))
        {
            return null;
        }

        while (bag.TryTake(out var connection))
        {
            if (StillUsable(connection, time.GetUtcNow()))
            {
                return connection;
            }

            _ = CloseAsync(connection.Client);
        }

        return null;
    }

    /// <summary>Puts a connection back after a successful transaction, or closes it when it has carried enough.</summary>
    internal async Task ReturnAsync(string key, PooledConnection connection)
    {
        connection.Messages++;
        if (!Enabled || connection.Messages >= maxMessagesPerConnection || !connection.Client.IsConnected || LostSlot(connection))
        {
            await CloseAsync(connection.Client).ConfigureAwait(false);
            return;
        }

        connection.IdleSince = time.GetUtcNow();
        _idle.GetOrAdd(key, _ => []).Add(connection);

        // An idle connection whose slot is lost closes then, not when the next message or the idle limit comes.
        connection.Client.Lease?.WhenLost(Sweep);
        if (_returned.TryRemove(key, out var waiting))
        {
            waiting.TrySetResult();
        }

        if (_sweeper is null)
        {
            var sweeper = time.CreateTimer(_ => Sweep(), null, idleLimit, idleLimit);
            if (Interlocked.CompareExchange(ref _sweeper, sweeper, null) is not null)
            {
                sweeper.Dispose();
            }
        }
        Sweep();
    }

    // Its fleet-wide slot lapsed or was taken over (this instance paused past the hold, or taken for dead), or
    // could not be renewed: another message on it could be one connection more than the destination's limit.
    private static bool LostSlot(PooledConnection connection) => connection.Client.Lease is { Held: false };

    // What an idle connection needs to carry the next message; the same when it is taken and when the pool is swept.
    private bool StillUsable(PooledConnection connection, DateTimeOffset now) =>
        connection.Client.IsConnected && now - connection.IdleSince < idleLimit && !LostSlot(connection);

    private void Sweep()
    {
        var now = time.GetUtcNow();
        foreach (var bag in _idle.Values)
        {
            var keep = new List<PooledConnection>();
            while (bag.TryTake(out var connection))
            {
                if (StillUsable(connection, now))
                {
                    keep.Add(connection);
                }
                else
                {
                    _ = CloseAsync(connection.Client);
                }
            }

            foreach (var connection in keep)
            {
                bag.Add(connection);
            }
        }
    }

    internal static async Task CloseAsync(SmtpClient client)
    {
        try
        {
            using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.DisconnectAsync(true, quitTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or MailKit.Net.Smtp.SmtpProtocolException or SmtpCommandException or OperationCanceledException
                                      or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closing a connection nobody needs any more: a failed QUIT changes nothing.
        }
        finally
        {
            client.Dispose();
        }
    }

    /// <summary>Closes every idle connection and gives back its fleet-wide slot.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_sweeper is not null)
        {
            await _sweeper.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var bag in _idle.Values)
        {
            while (bag.TryTake(out var connection))
            {
                // The pool is disposed as the process stops: a release left to run on its own (as closing a client
                // does) would not reach storage before the exit, and the slot would stay held until it lapsed
                // (DestinationLimiter.SlotHold), with no dead instance's recovery to free it.
                var lease = connection.Client.Lease;
                connection.Client.Lease = null;
                await CloseAsync(connection.Client).ConfigureAwait(false);
                if (lease is not null)
                {
                    await lease.DisposeAsync().ConfigureAwait(false);
                }
            }
        }
    }
}

/// <summary>An open session and what was learned when it was set up.</summary>
internal sealed class PooledConnection(RecipientTrackingSmtpClient client, TlsDetails? tls, bool? startTlsOffered, string? localAddress)
{
    public RecipientTrackingSmtpClient Client { get; } = client;
    public TlsDetails? Tls { get; } = tls;
    public bool? StartTlsOffered { get; } = startTlsOffered;
    public string? LocalAddress { get; } = localAddress;
    public int Messages { get; set; }
    public DateTimeOffset IdleSince { get; set; }
}
