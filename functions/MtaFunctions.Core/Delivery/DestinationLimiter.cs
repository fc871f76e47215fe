using Azure;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Fleet-wide limits per destination (an MX host or a route): at most N concurrent SMTP connections and at most
/// R messages per minute across every instance, and fewer connections for a while after the destination said
/// it was busy (421, "too many connections").
/// </summary>
/// <remarks>
/// Approach:
/// 1. Counts live in table rows changed with optimistic concurrency (<see cref="DestinationLimitStore"/>), never in
///    memory: 40 instances behind one NAT address look like one sender to the receiver.
/// 2. A connection holds a slot row for as long as it is open, named by the instance (<see cref="InstanceIdentity"/>).
///    When the fleet learns that an instance died (<see cref="InFlightRecovery"/>: its process is provably gone, or
///    it has been silent for <see cref="InFlightRecovery.StaleAfter"/>), its slots are freed with its messages; and
///    a hold lapses after <see cref="SlotHold"/> unless renewed, whatever else fails. A connection whose renewal
///    finds its slot gone (or cannot reach storage) carries no further message: idle, it is closed at once.
/// 3. Messages per minute are taken in small blocks per instance, so a message costs no storage operation of its
///    own when no rate is set, and a fraction of one when it is.
/// 4. A busy reply lowers the limit to one less than the connections open, which grows back by one per
///    <c>Limits:BusyRecovery</c> (a minute by default).
/// 5. Waiting is bounded by <c>Limits:MaxWait</c>; a caller that gets no slot puts its recipients back on the
///    queue without counting an attempt (nothing is lost, nothing bounces for our own pacing).
/// </remarks>
public sealed class DestinationLimiter(DestinationLimitStore store, DestinationLimitSettings settings, TimeProvider time, InstanceIdentity identity)
{
    /// <summary>How long a slot is held without renewal.</summary>
    public static readonly TimeSpan SlotHold = TimeSpan.FromSeconds(60);

    /// <summary>How often a held slot is renewed (three times per <see cref="SlotHold"/>).</summary>
    public static readonly TimeSpan RenewEvery = SlotHold / 3;

    /// <summary>
    /// A slot renewed this recently has a live holder, whatever else is said of it: a renewal period, and 10 s to
    /// spare for a slow write or two clocks apart.
    /// </summary>
    public static readonly TimeSpan RenewedByTheLiving = RenewEvery + TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MaxPoll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan FirstPoll = TimeSpan.FromMilliseconds(50);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, LocalWait> _waits = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, LocalTokens> _tokens = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The limits of the destinations; read by callers to pick the limit of a session.</summary>
    public DestinationLimitSettings Settings => settings;

    /// <summary>Waits for a connection slot of <paramref name="destination"/>.</summary>
    /// <param name="destination">MX host or route.</param>
    /// <param name="limit">Its limit.</param>
    /// <param name="stopWaiting">
    /// Null, or a task that completes when waiting should end with null (a pooled connection to the destination
    /// became idle): the wait wakes at once then, rather than at its next poll.
    /// </param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <param name="until">When to give up; default <c>MaxWait</c> from now.</param>
    /// <returns>The held slot (dispose it when the connection closes), or null when none came free in time or <paramref name="stopWaiting"/> completed.</returns>
    public async Task<DestinationLease?> AcquireConnectionAsync(
        string destination, DestinationLimit limit, Func<Task>? stopWaiting, CancellationToken cancellationToken, DateTimeOffset? until = null)
    {
        var deadline = until ?? time.GetUtcNow() + settings.MaxWait;
        var holder = $"{identity.Id}/{Guid.NewGuid():N}";
        var local = _waits.GetOrAdd(destination, _ => new LocalWait());

        // One waiter per destination and instance reads the destination's rows, on one poll schedule; the others
        // wait for it or for a connection of ours to come back idle. Many messages waiting for one busy
        // destination cost one storage read per poll, not one each.
        if (!await EnterAsync(local.Gate, stopWaiting, deadline, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        try
        {
            while (true)
            {
                var now = time.GetUtcNow();
                if (local.NextRead > now)
                {
                    var idle = stopWaiting?.Invoke();
                    var delay = Task.Delay(Max(TimeSpan.Zero, Min(local.NextRead - now, deadline - now)), time, cancellationToken);
                    await (idle is null ? delay : Task.WhenAny(delay, idle)).ConfigureAwait(false);
                    cancellationToken.ThrowIfCancellationRequested();
                    if (idle?.IsCompleted == true)
                    {
                        return null;
                    }

                    now = time.GetUtcNow();
                }

                var snapshot = await store.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
                var effective = EffectiveLimit(limit.MaxConnections, snapshot.Backoff, now, settings.BusyRecovery);
                var held = snapshot.Slots.Where(s => s.ExpiresAt > now).ToList();
                if (held.Count < effective)
                {
                    // Only slots below the limit are ever claimed, so at most `effective` can be held at once.
                    var free = Enumerable.Range(0, effective)
                        .Where(i => !held.Any(s => s.Index == i))
                        .OrderBy(_ => Random.Shared.Next())
                        .ToList();
                    foreach (var index in free)
                    {
                        var row = snapshot.Slots.FirstOrDefault(s => s.Index == index);
                        var expires = now + SlotHold;
                        if (await store.TryWriteSlotAsync(destination, index, identity.Id, holder, expires, row?.ETag, cancellationToken).ConfigureAwait(false) is { } etag)
                        {
                            local.Poll = FirstPoll;
                            local.NextRead = now;
                            return new DestinationLease(this, destination, index, holder, etag);
                        }
                    }

                    // Lost every race: read again at once.
                    continue;
                }

                if (now >= deadline || stopWaiting?.Invoke().IsCompleted == true)
                {
                    return null;
                }

                local.NextRead = now + Jitter(local.Poll);
                local.Poll = local.Poll * 2 > MaxPoll ? MaxPoll : local.Poll * 2;
            }
        }
        finally
        {
            local.Gate.Release();
        }
    }

    // Waits to become the destination's reader; false when a connection came back idle or the deadline passed first.
    private async Task<bool> EnterAsync(SemaphoreSlim gate, Func<Task>? stopWaiting, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        if (gate.Wait(0))
        {
            return true;
        }

        var remaining = deadline - time.GetUtcNow();
        using var timeout = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        var entered = gate.WaitAsync(linked.Token);
        if (stopWaiting?.Invoke() is { } idle && await Task.WhenAny(entered, idle).ConfigureAwait(false) != entered)
        {
            await linked.CancelAsync().ConfigureAwait(false);
            try
            {
                await entered.ConfigureAwait(false);
                gate.Release();
            }
            catch (OperationCanceledException)
            {
                // Not entered: nothing to give back.
            }

            return false;
        }

        try
        {
            await entered.ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Waits until one more message may start to <paramref name="destination"/> under its rate.</summary>
    /// <returns>False when the rate did not allow it within <c>MaxWait</c>.</returns>
    public async Task<bool> AcquireMessageAsync(string destination, DestinationLimit limit, CancellationToken cancellationToken)
    {
        if (limit.MessagesPerMinute <= 0)
        {
            return true;
        }

        var deadline = time.GetUtcNow() + settings.MaxWait;
        while (true)
        {
            var now = time.GetUtcNow();
            var window = Window(now);
            lock (_tokens)
            {
                if (_tokens.TryGetValue(destination, out var local) && local.Window == window && local.Left > 0)
                {
                    local.Left--;
                    return true;
                }
            }

            var snapshot = await store.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            var used = snapshot.Rate is { } rate && rate.WindowStart == window ? rate.Count : 0;
            var take = Math.Min(Block(limit.MessagesPerMinute), limit.MessagesPerMinute - used);
            if (take > 0)
            {
                if (await store.TryWriteRateAsync(destination, window, used + take, snapshot.Rate?.ETag, cancellationToken).ConfigureAwait(false))
                {
                    lock (_tokens)
                    {
                        if (_tokens.TryGetValue(destination, out var local) && local.Window == window)
                        {
                            local.Left += take - 1;
                        }
                        else
                        {
                            _tokens[destination] = new LocalTokens(window, take - 1);
                        }
                    }

                    return true;
                }

                continue;
            }

            var next = window.AddMinutes(1);
            if (next > deadline)
            {
                // A block another request of this instance just reserved may still have a token left.
                lock (_tokens)
                {
                    if (_tokens.TryGetValue(destination, out var local) && local.Window == window && local.Left > 0)
                    {
                        local.Left--;
                        return true;
                    }
                }

                return false;
            }

            await Task.Delay(next - now + Jitter(TimeSpan.FromMilliseconds(200)), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The destination answered busy (421, too many connections): fewer connections for everyone, one less than are
    /// open now, growing back by one per <c>Limits:BusyRecovery</c>.
    /// </summary>
    public async Task ReportBusyAsync(string destination, DestinationLimit limit, CancellationToken cancellationToken)
    {
        for (var tries = 0; tries < 5; tries++)
        {
            var now = time.GetUtcNow();
            var snapshot = await store.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
            var open = snapshot.Slots.Count(s => s.ExpiresAt > now);
            var reduced = Math.Max(1, Math.Min(EffectiveLimit(limit.MaxConnections, snapshot.Backoff, now, settings.BusyRecovery), open) - 1);
            if (await store.TryWriteBackoffAsync(destination, reduced, now, snapshot.Backoff?.ETag, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The connection limit in force: the configured one, or a back-off that grows by one per
    /// <paramref name="recovery"/> (<c>Limits:BusyRecovery</c>) since it was set.
    /// </summary>
    public static int EffectiveLimit(int configured, BackoffRow? backoff, DateTimeOffset now, TimeSpan recovery) =>
        backoff is null
            ? configured
            : (int)Math.Min(configured, backoff.Limit + Math.Max(0, Math.Floor((now - backoff.At) / recovery)));

    internal async Task<ETag?> RenewAsync(DestinationLease lease, ETag etag, CancellationToken cancellationToken) =>
        await store.TryWriteSlotAsync(lease.Destination, lease.Index, identity.Id, lease.Holder, time.GetUtcNow() + SlotHold, etag, cancellationToken).ConfigureAwait(false);

    internal Task ReleaseAsync(DestinationLease lease, ETag etag) =>
        store.ReleaseSlotAsync(lease.Destination, lease.Index, etag, CancellationToken.None);

    internal TimeProvider Time => time;

    // Per instance, a tenth of the rate at a time: few storage operations, little left unused at a window's end.
    private static int Block(int perMinute) => Math.Max(1, perMinute / 10);

    private static DateTimeOffset Window(DateTimeOffset now) => new(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);

    private static TimeSpan Jitter(TimeSpan around) => around * (0.5 + Random.Shared.NextDouble());

    /// <summary>This instance's waiters of one destination: who reads its rows, and when next.</summary>
    private sealed class LocalWait
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public DateTimeOffset NextRead { get; set; }
        public TimeSpan Poll { get; set; } = FirstPoll;
    }

    private sealed class LocalTokens(DateTimeOffset window, int left)
    {
        public DateTimeOffset Window { get; } = window;
        public int Left { get; set; } = left;
    }
}
