using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>What a test SMTP server demands beyond the defaults.</summary>
/// <param name="ImplicitTls">TLS from the first byte (port 465 style) instead of STARTTLS.</param>
/// <param name="AuthUser">When set, AUTH (PLAIN/LOGIN, only over TLS) with this user and <paramref name="AuthPassword"/> is required before MAIL.</param>
/// <param name="AuthPassword">The password AUTH must present.</param>
/// <param name="MaxMessageSize">SIZE advertised and enforced (RFC 1870), or null for none.</param>
public sealed record TestSmtpServerOptions(bool ImplicitTls = false, string? AuthUser = null, string? AuthPassword = null, int? MaxMessageSize = null);

/// <summary>One message as the test SMTP server received it.</summary>
/// <param name="MailParameters">The MAIL FROM parameters (BODY=8BITMIME, SMTPUTF8, SIZE).</param>
public sealed record ReceivedMail(
    string From, IReadOnlyList<string> To, byte[] Data, bool Secure, IPEndPoint Server, IReadOnlyDictionary<string, string>? MailParameters = null)
{
    /// <summary>When the message was stored (just before the 250 went out).</summary>
    public DateTime StoredAt { get; init; } = DateTime.UtcNow;
}

/// <summary>
/// An in-process SMTP server (SmtpServer package) on a loopback address, with STARTTLS when given a
/// certificate, per-recipient replies set by the test, and every accepted message kept.
/// </summary>
public sealed class TestSmtpServer : IAsyncDisposable
{
    private readonly SmtpServer.SmtpServer _server;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;
    private int _sessions;
    private int _open;
    private int _peak;
    private int _disposed;
    private int _endOfData;
    private int _tempFailed;

    public TestSmtpServer(IPAddress address, int port, X509Certificate2? certificate, ConcurrentQueue<ReceivedMail>? inbox = null)
        : this(address, port, certificate, inbox, null)
    {
    }

    /// <summary>A server with AUTH, implicit TLS or SIZE as <paramref name="options"/> say.</summary>
    public TestSmtpServer(IPAddress address, int port, X509Certificate2? certificate, TestSmtpServerOptions options, ConcurrentQueue<ReceivedMail>? inbox = null)
        : this(address, port, certificate, inbox, null, options)
    {
    }

    /// <summary>A server whose STARTTLS sends <paramref name="certificate"/> followed by <paramref name="chain"/> (DANE-TA tests).</summary>
    public TestSmtpServer(IPAddress address, int port, X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain)
        : this(address, port, certificate, null, new ChainEndpointListenerFactory(certificate, chain))
    {
    }

    private TestSmtpServer(
        IPAddress address, int port, X509Certificate2? certificate, ConcurrentQueue<ReceivedMail>? inbox, ChainEndpointListenerFactory? chainListener,
        TestSmtpServerOptions? demands = null)
    {
        demands ??= new TestSmtpServerOptions();
        EndPoint = new IPEndPoint(address, port);
        Inbox = inbox ?? new ConcurrentQueue<ReceivedMail>();
        var builder = new SmtpServerOptionsBuilder()
            .ServerName("test-mx")
            .MaxRetryCount(1000)
            .Endpoint(builder =>
            {
                var requireAuth = demands.AuthUser is not null;
                builder.Endpoint(EndPoint).IsSecure(demands.ImplicitTls).AllowUnsecureAuthentication(!requireAuth).AuthenticationRequired(requireAuth);
                if (certificate is not null)
                {
                    builder.Certificate(certificate).SupportedSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                }
            });
        if (demands.MaxMessageSize is { } size)
        {
            builder.MaxMessageSize(size, MaxMessageSizeHandling.Strict);
        }

        var options = builder.Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Filter(this));
        services.Add(new Store(this));
        if (demands.AuthUser is { } user)
        {
            services.Add(new SmtpServer.Authentication.DelegatingUserAuthenticator((u, p) =>
            {
                var ok = u == user && p == demands.AuthPassword;
                AuthAttempts.Enqueue((u, ok));
                return ok;
            }));
        }

        if (chainListener is not null)
        {
            services.Add(chainListener);
            ChainListener = chainListener;
        }
        _server = new SmtpServer.SmtpServer(options, services);
        _server.SessionCreated += (_, _) =>
        {
            Interlocked.Increment(ref _sessions);
            var open = Interlocked.Increment(ref _open);
            int peak;
            while (open > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, open, peak) != peak)
            {
            }
        };
        _server.SessionCompleted += (_, _) => Interlocked.Decrement(ref _open);
        _server.SessionFaulted += (_, _) => Interlocked.Decrement(ref _open);
        _server.SessionCancelled += (_, _) => Interlocked.Decrement(ref _open);
        _running = _server.StartAsync(_stop.Token);
    }

    /// <summary>The chain-sending listener, when the server was made with a chain (its SNI log).</summary>
    public ChainEndpointListenerFactory? ChainListener { get; }

    /// <summary>Where the server listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>SMTP sessions (connections) opened so far.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>Most sessions open at the same time so far.</summary>
    public int PeakSessions => Volatile.Read(ref _peak);

    /// <summary>Sessions open now.</summary>
    public int OpenSessions => Volatile.Read(ref _open);

    /// <summary>When set, MAIL FROM in a session while more than this many are open gets "421 4.7.0 too many connections" (and the session ends).</summary>
    public int? BusyAbove { get; set; }

    /// <summary>Times MAIL FROM got the busy reply.</summary>
    public int BusyReplies => Volatile.Read(ref _busyReplies);

    /// <summary>Busy replies per envelope sender (tests give each message its own sender to tell them apart).</summary>
    public ConcurrentDictionary<string, int> BusyRepliesBySender { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Starts <see cref="PeakSessions"/> over from the sessions open now.</summary>
    public void ResetPeak() => Volatile.Write(ref _peak, OpenSessions);

    private int _busyReplies;

    /// <summary>Every AUTH attempt: user and whether it was accepted.</summary>
    public ConcurrentQueue<(string User, bool Accepted)> AuthAttempts { get; } = new();

    /// <summary>RCPT TO commands seen per transaction, in order.</summary>
    public ConcurrentQueue<int> RecipientsPerTransaction { get; } = new();

    /// <summary>When set, the RCPT after this many in one transaction gets "452 4.5.3 too many recipients".</summary>
    public int? MaxRecipientsPerTransaction { get; set; }

    /// <summary>Messages accepted so far.</summary>
    public ConcurrentQueue<ReceivedMail> Inbox { get; }

    /// <summary>Replies to RCPT TO by address (lower case): e.g. 450 "4.2.1 busy". Unlisted addresses get 250.</summary>
    public ConcurrentDictionary<string, (int Code, string Text)> RecipientReplies { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Replies to the end of the data, one per transaction in order (e.g. 451 "4.3.0 try later"); when empty
    /// the message is stored and 250 sent. A transaction answered from here stores nothing.
    /// </summary>
    public ConcurrentQueue<(int Code, string Text)> EndOfDataReplies { get; } = new();

    /// <summary>
    /// When set, the end-of-data reply waits for this task and sends its reply (250 stores the message, anything
    /// else does not): a peer that holds its reply while the test acts.
    /// </summary>
    public Task<(int Code, string Text)>? EndOfDataGate { get; set; }

    /// <summary>
    /// Held replies to the end of the data, one per transaction in order: a transaction takes the next one and
    /// answers when it completes (250 stores the message); once none is left, transactions go on as without.
    /// Unlike <see cref="EndOfDataGate"/>, a transaction that comes later is not held by the same task.
    /// </summary>
    public ConcurrentQueue<Task<(int Code, string Text)>> EndOfDataHolds { get; } = new();

    /// <summary>Share of transactions answered 451 after the body (random), for soaks.</summary>
    public double EndOfDataTempFailRate { get; init; }

    /// <summary>Transactions answered 451 by <see cref="EndOfDataTempFailRate"/>.</summary>
    public int TempFailed => Volatile.Read(ref _tempFailed);

    /// <summary>Transactions that reached the end of the data (stored or not).</summary>
    public int EndOfDataCount => Volatile.Read(ref _endOfData);

    /// <summary>Number of RCPT TO commands seen per address.</summary>
    public ConcurrentDictionary<string, int> RecipientAttempts { get; } = new(StringComparer.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _server.Shutdown();
        await _stop.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }

        _stop.Dispose();
    }

    private sealed class Filter(TestSmtpServer owner) : IMailboxFilter
    {
        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
        {
            if (owner.BusyAbove is { } busy && owner.OpenSessions > busy)
            {
                Interlocked.Increment(ref owner._busyReplies);
                owner.BusyRepliesBySender.AddOrUpdate(from.AsAddress(), 1, (_, n) => n + 1);
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)421, "4.7.0 too many connections, try later"), quit: true);
            }

            context.Properties["rcpts"] = 0;
            return Task.FromResult(true);
        }

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            var address = to.AsAddress();
            var count = context.Properties.TryGetValue("rcpts", out var seen) ? (int)seen : 0;
            if (owner.MaxRecipientsPerTransaction is { } max && count >= max)
            {
                // RFC 5321 §4.5.3.1.10: a server limiting recipients says 452 for the ones past its limit.
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)452, "4.5.3 too many recipients"));
            }

            context.Properties["rcpts"] = count + 1;
            owner.RecipientAttempts.AddOrUpdate(address, 1, (_, n) => n + 1);
            if (owner.RecipientReplies.TryGetValue(address, out var reply))
            {
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)reply.Code, reply.Text));
            }

            return Task.FromResult(true);
        }
    }

    private sealed class Store(TestSmtpServer owner) : IMessageStore
    {
        public async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._endOfData);
            if (owner.EndOfDataReplies.TryDequeue(out var reply))
            {
                return new SmtpResponse((SmtpReplyCode)reply.Code, reply.Text);
            }

            if (owner.EndOfDataHolds.TryDequeue(out var hold))
            {
                var held = await hold;
                if (held.Code != 250)
                {
                    return new SmtpResponse((SmtpReplyCode)held.Code, held.Text);
                }
            }
            else if (owner.EndOfDataGate is { } gate)
            {
                var decided = await gate;
                if (decided.Code != 250)
                {
                    return new SmtpResponse((SmtpReplyCode)decided.Code, decided.Text);
                }
            }

            if (owner.EndOfDataTempFailRate > 0 && Random.Shared.NextDouble() < owner.EndOfDataTempFailRate)
            {
                Interlocked.Increment(ref owner._tempFailed);
                return new SmtpResponse((SmtpReplyCode)451, "4.3.0 try again later (soak)");
            }

            owner.RecipientsPerTransaction.Enqueue(transaction.To.Count);
            owner.Inbox.Enqueue(new ReceivedMail(
                transaction.From?.AsAddress() ?? "",
                transaction.To.Select(t => t.AsAddress()).ToList(),
                buffer.ToArray(),
                context.Pipe.IsSecure,
                owner.EndPoint,
                transaction.Parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.OrdinalIgnoreCase)));
            return SmtpResponse.Ok;
        }
    }
}
