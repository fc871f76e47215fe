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

/// <summary>One message as the test SMTP server received it.</summary>
/// <param name="MailParameters">The MAIL FROM parameters (BODY=8BITMIME, SMTPUTF8, SIZE).</param>
public sealed record ReceivedMail(
    string From, IReadOnlyList<string> To, byte[] Data, bool Secure, IPEndPoint Server, IReadOnlyDictionary<string, string>? MailParameters = null);

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
    private int _disposed;
    private int _endOfData;
    private int _tempFailed;

    public TestSmtpServer(IPAddress address, int port, X509Certificate2? certificate, ConcurrentQueue<ReceivedMail>? inbox = null)
        : this(address, port, certificate, inbox, null)
    {
    }

    /// <summary>A server whose STARTTLS sends <paramref name="certificate"/> followed by <paramref name="chain"/> (DANE-TA tests).</summary>
    public TestSmtpServer(IPAddress address, int port, X509Certificate2 certificate, IReadOnlyList<X509Certificate2> chain)
        : this(address, port, certificate, null, new ChainEndpointListenerFactory(certificate, chain))
    {
    }

    private TestSmtpServer(
        IPAddress address, int port, X509Certificate2? certificate, ConcurrentQueue<ReceivedMail>? inbox, ChainEndpointListenerFactory? chainListener)
    {
        EndPoint = new IPEndPoint(address, port);
        Inbox = inbox ?? new ConcurrentQueue<ReceivedMail>();
        var options = new SmtpServerOptionsBuilder()
            .ServerName("test-mx")
            .MaxRetryCount(1000)
            .Endpoint(builder =>
            {
                builder.Endpoint(EndPoint).IsSecure(false).AllowUnsecureAuthentication(true);
                if (certificate is not null)
                {
                    builder.Certificate(certificate).SupportedSslProtocols(SslProtocols.Tls12 | SslProtocols.Tls13);
                }
            })
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(new Filter(this));
        services.Add(new Store(this));
        if (chainListener is not null)
        {
            services.Add(chainListener);
            ChainListener = chainListener;
        }
        _server = new SmtpServer.SmtpServer(options, services);
        _server.SessionCreated += (_, _) => Interlocked.Increment(ref _sessions);
        _running = _server.StartAsync(_stop.Token);
    }

    /// <summary>The chain-sending listener, when the server was made with a chain (its SNI log).</summary>
    public ChainEndpointListenerFactory? ChainListener { get; }

    /// <summary>Where the server listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>SMTP sessions (connections) opened so far.</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

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
        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken) =>
            Task.FromResult(true);

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            var address = to.AsAddress();
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

            if (owner.EndOfDataGate is { } gate)
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
