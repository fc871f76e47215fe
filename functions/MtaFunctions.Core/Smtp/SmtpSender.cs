using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Policy;

namespace MtaFunctions.Core.Smtp;

/// <summary>
/// Runs one SMTP session to one MX address under an <see cref="MxTlsPolicy"/>: connect, EHLO, STARTTLS as the
/// policy demands, certificate judged by the policy's check, MAIL/RCPT/DATA, QUIT.
/// </summary>
/// <remarks>
/// The socket is connected to the chosen IP, while MailKit is given the MX host name, so SNI and the
/// certificate name check use the name (RFC 8461 §7.1, RFC 7672 §8.1). A refused certificate ends the
/// session: there is no plaintext retry on the same host. After a transaction the connection goes back to
/// the <see cref="SmtpConnectionPool"/> for the next message to the same MX under the same policy.
/// </remarks>
public sealed class SmtpSender(OutboundSettings settings, SmtpConnectionPool pool, DestinationLimiter limiter)
{
    /// <summary>Delivers <paramref name="message"/> to <paramref name="recipients"/> through <paramref name="target"/>.</summary>
    /// <param name="target">MX host and address.</param>
    /// <param name="policy">TLS requirement and certificate check.</param>
    /// <param name="from">Envelope sender; "" sends <c>MAIL FROM:&lt;&gt;</c>.</param>
    /// <param name="recipients">Envelope recipients.</param>
    /// <param name="message">The message to send.</param>
    /// <param name="cancellationToken">Cancels the session.</param>
    /// <param name="decided">
    /// Called with each transaction's result (its replies) the moment its end-of-data reply is read, before any further I/O
    /// (the next transaction, QUIT, the pool): the caller records delivered recipients first, so a crash after the
    /// 250 does not send them again. An exception from it ends the session and propagates.
    /// </param>
    /// <remarks>
    /// At most <c>Queue:Outbound:Smtp:MaxRecipientsPerTransaction</c> RCPTs go in one transaction; the rest follow in
    /// further transactions, on the same connection when it is still open. A 452 to RCPT after others in the same
    /// transaction were accepted means the server's own recipient limit: those recipients go in the next transaction
    /// (RFC 5321 §4.5.3.1.10), they are not deferred.
    /// </remarks>
    public async Task<SmtpSessionResult> SendAsync(
        SmtpTarget target, MxTlsPolicy policy, string from, IReadOnlyList<string> recipients, RelayMessage message,
        CancellationToken cancellationToken, Func<SmtpSessionResult, Task>? decided = null)
    {
        var remaining = new List<string>(recipients);
        var replies = new List<RecipientReply>();
        SmtpSessionResult? first = null;
        while (remaining.Count > 0)
        {
            var batch = remaining.Take(settings.MaxRecipientsPerTransaction).ToList();
            remaining.RemoveRange(0, batch.Count);
            var session = await SendTransactionAsync(target, policy, from, batch, message, decided, cancellationToken).ConfigureAwait(false);
            if (session.Failure != SessionFailure.None)
            {
                if (first is null)
                {
                    // Nothing decided yet: the caller may try another address.
                    return session;
                }

                // Earlier transactions decided their recipients; the rest wait for a later attempt.
                var reason = session.Error ?? session.Failure.ToString();
                replies.AddRange(batch.Concat(remaining).Select(r => new RecipientReply(r, 451, $"4.4.2 {reason}")));
                break;
            }

            first ??= session;
            var accepted = session.Replies.Any(r => r.Code is >= 200 and < 300);
            var tooMany = accepted ? session.Replies.Where(r => r.Code == 452).ToList() : [];
            replies.AddRange(session.Replies.Where(r => !tooMany.Contains(r)));
            remaining.InsertRange(0, tooMany.Select(r => r.Recipient));
        }

        return first! with { Replies = replies };
    }

    private async Task<SmtpSessionResult> SendTransactionAsync(
        SmtpTarget target, MxTlsPolicy policy, string from, IReadOnlyList<string> recipients, RelayMessage message,
        Func<SmtpSessionResult, Task>? decided, CancellationToken cancellationToken)
    {
        var destination = target.Destination ?? target.MxHost;
        if (target.Limit is { } rate && !await limiter.AcquireMessageAsync(destination, rate, cancellationToken).ConfigureAwait(false))
        {
            return Throttled(target, $"{destination}: {rate.MessagesPerMinute} messages per minute reached (all instances); waited {settings.Limits.MaxWait.TotalSeconds:0}s");
        }

        var key = SmtpConnectionPool.KeyFor(target, policy);
        DestinationLease? lease = null;
        var waitUntil = limiter.Time.GetUtcNow() + settings.Limits.MaxWait;
        while (true)
        {
            if (pool.Take(key) is { } pooled)
            {
                var reusedDecided = decided is null ? null : (Func<SmtpSessionResult, Task>)(r => decided(r with { Reused = true }));
                var reused = await TransactAsync(key, pooled, target, from, recipients, message, reusedDecided, cancellationToken).ConfigureAwait(false);

                // The server closed an idle connection before answering MAIL or any RCPT: nothing was sent,
                // so a fresh connection is safe. Later failures are reported (the message may have arrived).
                if (!(reused.Failure == SessionFailure.Dropped && reused.Replies.Count == 0 && !pooled.Client.Replies.Any()))
                {
                    return reused with { Reused = true };
                }
            }

            if (target.Limit is not { } limit)
            {
                break;
            }

            // While every slot is taken, a connection of ours that goes idle is the quicker way to the destination.
            lease = await limiter.AcquireConnectionAsync(destination, limit, () => pool.IdleAsync(key), cancellationToken, waitUntil).ConfigureAwait(false);
            if (lease is not null)
            {
                break;
            }

            // Woken for an idle connection another sender took first: wait on, until the deadline.
            if (!pool.HasIdle(key) && limiter.Time.GetUtcNow() >= waitUntil)
            {
                return Throttled(target, $"{destination}: all {limit.MaxConnections} connections busy (all instances); waited {settings.Limits.MaxWait.TotalSeconds:0}s");
            }
        }

        var (connection, failure) = await ConnectAsync(target, policy, lease, cancellationToken).ConfigureAwait(false);
        if (connection is not null)
        {
            return await TransactAsync(key, connection, target, from, recipients, message, decided, cancellationToken).ConfigureAwait(false);
        }

        if (failure is { Failure: SessionFailure.Protocol or SessionFailure.Dropped, Busy: true } && target.Limit is { } busyLimit)
        {
            await limiter.ReportBusyAsync(destination, busyLimit, cancellationToken).ConfigureAwait(false);
        }

        if (PlaintextFallback(policy, failure!) is not { } tlsFailure)
        {
            return failure!;
        }

        // Opportunistic TLS only (RFC 3207 §4.1, as Postfix "may" and mox do): the server refused STARTTLS or the
        // handshake broke without a certificate verdict against it, so the message goes in plaintext on a new
        // connection, and TLS-RPT counts the failure. A plaintext connection is pooled under its own key.
        // The failed connection's slot was freed with it; the new connection takes one of its own.
        DestinationLease? fallbackLease = null;
        if (target.Limit is { } fallbackLimit
            && (fallbackLease = await limiter.AcquireConnectionAsync(destination, fallbackLimit, null, cancellationToken).ConfigureAwait(false)) is null)
        {
            return failure!;
        }

        var plaintext = policy with { Tls = TlsRequirement.Disabled };
        var (fallback, _) = await ConnectAsync(target, plaintext, fallbackLease, cancellationToken).ConfigureAwait(false);
        if (fallback is null)
        {
            return failure!;
        }

        var plaintextDecided = decided is null ? null : (Func<SmtpSessionResult, Task>)(r => decided(r with { StartTlsOffered = true, TlsFallback = tlsFailure }));
        var sent = await TransactAsync(SmtpConnectionPool.KeyFor(target, plaintext), fallback, target, from, recipients, message, plaintextDecided, cancellationToken)
            .ConfigureAwait(false);
        return sent with { StartTlsOffered = true, TlsFallback = tlsFailure };
    }

    // Never under DANE, an enforced MTA-STS policy or StartTls = require (their TLS is Required), and never after
    // a certificate was refused: AllowInvalidCerts = false keeps a failed validation a refusal.
    private static (Reporting.TlsRpt.TlsRptResultType Type, string Reason)? PlaintextFallback(MxTlsPolicy policy, SmtpSessionResult failure) =>
        policy.Tls != TlsRequirement.Opportunistic ? null
        : failure.Failure == SessionFailure.StartTlsRefused ? (Reporting.TlsRpt.TlsRptResultType.StartTlsNotSupported, failure.Error ?? "STARTTLS refused")
        : failure.Failure == SessionFailure.TlsHandshake && failure.Tls?.Verdict is not { Accept: false }
            ? (Reporting.TlsRpt.TlsRptResultType.ValidationFailure, failure.Error ?? "TLS handshake failed")
        : null;

    private static SmtpSessionResult Throttled(SmtpTarget target, string reason) =>
        new() { Target = target, Failure = SessionFailure.Throttled, Error = reason };

    // RFC 5321 §4.2.2: 421 = service not available, closing; receivers also say "too many connections" in other 4xx.
    private static bool IsBusy(int code, string text) =>
        code == 421 || (code is >= 400 and < 500 && text.Contains("too many", StringComparison.OrdinalIgnoreCase));

    private async Task<(PooledConnection? Connection, SmtpSessionResult? Failure)> ConnectAsync(
        SmtpTarget target, MxTlsPolicy policy, DestinationLease? lease, CancellationToken cancellationToken)
    {
        // NoDelay: SMTP is small writes awaiting replies; Nagle + delayed ACK would add ~40 ms per round trip.
        var socket = new Socket(target.Address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimeout.CancelAfter(settings.ConnectTimeout);
            await socket.ConnectAsync(new IPEndPoint(target.Address, target.Port), connectTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            if (lease is not null)
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }

            return (null, new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.Connect,
                Error = e is SocketException se ? $"connect to {target}: {se.SocketErrorCode}" : $"connect to {target}: timed out after {settings.ConnectTimeout.TotalSeconds:0}s",
            });
        }

        var local = (socket.LocalEndPoint as IPEndPoint)?.Address.ToString();
        CertificateVerdict? verdict = null;
        string? subject = null;
        var client = new RecipientTrackingSmtpClient
        {
            LocalDomain = settings.Hostname,
            Timeout = (int)Math.Min(int.MaxValue, settings.CommandTimeout.TotalMilliseconds),
            CheckCertificateRevocation = false,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            Lease = lease,
        };
        client.ServerCertificateValidationCallback = (_, certificate, chain, errors) =>
        {
            if (certificate is null)
            {
                verdict = CertificateVerdict.Refused(Reporting.TlsRpt.TlsRptResultType.ValidationFailure, "the server sent no certificate");
                return false;
            }

            var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            subject = leaf.Subject;
            var peer = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList() ?? [leaf];
            if (peer.Count == 0 || !peer[0].RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
            {
                peer.Insert(0, leaf);
            }

            verdict = policy.Check.Check(new CertificateContext(leaf, peer, errors, target.MxHost));
            return verdict.Accept;
        };

        var options = target.ImplicitTls ? SecureSocketOptions.SslOnConnect : policy.Tls switch
        {
            TlsRequirement.Disabled => SecureSocketOptions.None,
            TlsRequirement.Required => SecureSocketOptions.StartTls,
            _ => SecureSocketOptions.StartTlsWhenAvailable,
        };

        SmtpSessionResult? failure = null;
        try
        {
            // MailKit owns the socket from here and disposes it with the client. SNI: the TLSA base domain under DANE.
            await client.ConnectAsync(socket, policy.ServerName ?? target.MxHost, target.Port, options, cancellationToken).ConfigureAwait(false);
        }
        catch (NotSupportedException)
        {
            failure = new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.StartTlsNotOffered,
                StartTlsOffered = false,
                LocalAddress = local,
                Error = $"{target}: STARTTLS required but not offered",
            };
        }
        catch (SslHandshakeException e)
        {
            failure = new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.TlsHandshake,
                StartTlsOffered = true,
                LocalAddress = local,
                Tls = new TlsDetails("none", null, subject, verdict),
                Error = verdict is { Accept: false }
                    ? $"{target}: certificate refused: {verdict.Reason}"
                    : $"{target}: TLS handshake failed: {e.InnerException?.Message ?? e.Message}",
            };
        }
        catch (SmtpCommandException e) when (options != SecureSocketOptions.None && client.Capabilities.HasFlag(SmtpCapabilities.StartTLS) && !client.IsSecure)
        {
            // EHLO offered STARTTLS and the server then refused it (e.g. 454 4.7.0 TLS not available).
            failure = new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.StartTlsRefused,
                StartTlsOffered = true,
                LocalAddress = local,
                Error = $"{target}: STARTTLS refused: {(int)e.StatusCode} {e.Message}",
            };
        }
        catch (SmtpCommandException e)
        {
            failure = new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.Protocol,
                LocalAddress = local,
                Error = $"{target}: {(int)e.StatusCode} {e.Message}",
                Busy = IsBusy((int)e.StatusCode, e.Message),
            };
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            failure = new SmtpSessionResult
            {
                Target = target,
                Failure = SessionFailure.Dropped,
                LocalAddress = local,
                Error = $"{target}: {e.Message}",
            };
        }

        if (failure is null && target.Credentials is { } credentials)
        {
            failure = await AuthenticateAsync(client, target, credentials, local, cancellationToken).ConfigureAwait(false);
        }

        if (failure is not null)
        {
            client.Dispose();
            socket.Dispose();
            return (null, failure);
        }

        var offered = client.Capabilities.HasFlag(SmtpCapabilities.StartTLS) || client.IsSecure;
        var tls = client.IsSecure
            ? new TlsDetails(client.SslProtocol.ToString(), client.SslCipherSuite?.ToString(), subject, verdict)
            : null;
        return (new PooledConnection(client, tls, offered, local), null);
    }

    /// <summary>SMTP AUTH with PLAIN or LOGIN (RFC 4954), and only once the session is encrypted (RFC 8314 §4).</summary>
    private static async Task<SmtpSessionResult?> AuthenticateAsync(
        RecipientTrackingSmtpClient client, SmtpTarget target, NetworkCredential credentials, string? local, CancellationToken cancellationToken)
    {
        SmtpSessionResult Failed(string error) => new()
        {
            Target = target,
            Failure = SessionFailure.Protocol,
            StartTlsOffered = client.Capabilities.HasFlag(SmtpCapabilities.StartTLS) || client.IsSecure,
            LocalAddress = local,
            Error = $"{target}: {error}",
        };

        if (!client.IsSecure)
        {
            return Failed("AUTH not sent: the session is not encrypted");
        }

        client.AuthenticationMechanisms.RemoveWhere(m => m is not ("PLAIN" or "LOGIN"));
        if (client.AuthenticationMechanisms.Count == 0)
        {
            return Failed("the server offers neither AUTH PLAIN nor AUTH LOGIN");
        }

        try
        {
            await client.AuthenticateAsync(credentials, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (MailKit.Security.AuthenticationException e)
        {
            return Failed($"AUTH refused: {e.Message}");
        }
        catch (SmtpCommandException e)
        {
            return Failed($"AUTH failed: {(int)e.StatusCode} {e.Message}");
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return Failed($"AUTH: {e.Message}") with { Failure = SessionFailure.Dropped };
        }
    }

    private async Task<SmtpSessionResult> TransactAsync(
        string key, PooledConnection connection, SmtpTarget target, string from, IReadOnlyList<string> recipients,
        RelayMessage message, Func<SmtpSessionResult, Task>? decided, CancellationToken cancellationToken)
    {
        var client = connection.Client;
        client.Replies.Clear();
        var result = new SmtpSessionResult
        {
            Target = target,
            Tls = connection.Tls,
            StartTlsOffered = connection.StartTlsOffered,
            LocalAddress = connection.LocalAddress,
        };
        var sender = new MailboxAddress("", from);
        var rcpts = recipients.Select(r => new MailboxAddress("", r)).ToList();
        if (client.Capabilities.HasFlag(SmtpCapabilities.Size) && client.MaxSize > 0 && message.Data.LongLength is var size && size > client.MaxSize)
        {
            // RFC 1870 §6.1: a message larger than the server's SIZE is not sent; it can never be accepted there.
            await pool.ReturnAsync(key, connection).ConfigureAwait(false);
            return result with
            {
                Replies = recipients.Select(r => new RecipientReply(r, 552, $"5.3.4 message size {size} exceeds the fixed maximum message size {client.MaxSize} of {target.MxHost} (SIZE); not sent")).ToList(),
            };
        }


        // RFC 6531 §3.2: UTF-8 in the header or the envelope needs SMTPUTF8; without it the message cannot be
        // relayed unchanged, so it is refused for good (RFC 6531 §3.4, 5.6.7) before MAIL FROM.
        var needsUtf8 = message.EightBitHeaders || !Ascii.IsValid(from) || recipients.Any(r => !Ascii.IsValid(r));
        if (needsUtf8 && !client.Capabilities.HasFlag(SmtpCapabilities.UTF8))
        {
            await pool.ReturnAsync(key, connection).ConfigureAwait(false);
            return result with
            {
                Replies = recipients.Select(r => new RecipientReply(
                    r, 553, "5.6.7 the message needs SMTPUTF8 (UTF-8 address or header) and the server does not offer it (RFC 6531 §3.4)")).ToList(),
            };
        }

        // RFC 6152 §3: an 8-bit body goes as BODY=8BITMIME; only a server without 8BITMIME gets a 7-bit
        // conversion (as Postfix does), and the outcome says so.
        var data = message;
        string? conversion = null;
        if (message.EightBitBody && !client.Capabilities.HasFlag(SmtpCapabilities.EightBitMime))
        {
            data = RelayMessage.FromQueued(SevenBitConversion.Convert(message));
            conversion = "body converted to 7bit: the server does not offer 8BITMIME (RFC 6152 §3)";
        }

        var wire = RawMessageEntity.Wrap(data.Data, data.HeaderLength, data.EightBitBody, out var body);
        client.International = needsUtf8;
        result = result with { Conversion = conversion };
        List<RecipientReply> replies;
        try
        {
            var dataReply = await client.SendAsync(wire, sender, rcpts, cancellationToken).ConfigureAwait(false);
            replies = recipients.Select(r => client.Replies.TryGetValue(r, out var reply) && reply.Code >= 400
                    ? reply
                    : new RecipientReply(r, 250, dataReply))
                .ToList();
        }
        catch (Exception e) when (e is SmtpCommandException or ServiceNotAuthenticatedException)
        {
            // Every reply decides: each recipient gets the reply that concerns it (see TransactionReplies).
            var refused = TransactionReplies.Assign(recipients, client.Replies, e);
            if (decided is not null)
            {
                await decided(result with { Replies = refused }).ConfigureAwait(false);
            }

            await SmtpConnectionPool.CloseAsync(client).ConfigureAwait(false);
            if (target.Limit is { } limit && e is SmtpCommandException command && IsBusy((int)command.StatusCode, command.Message))
            {
                await limiter.ReportBusyAsync(target.Destination ?? target.MxHost, limit, cancellationToken).ConfigureAwait(false);
            }

            return result with { Replies = refused };
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or TimeoutException or ServiceNotConnectedException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // RFC 5321 §4.1.1.4: without a final DATA reply the message was not delivered. When the whole body
            // had gone out, the server may still have taken it (RFC 1047): the status says so.
            client.Dispose();
            var after = body.Sent ? " (connection lost after the whole message was sent, before the server's reply: a duplicate is possible)" : "";
            return result with { Failure = SessionFailure.Dropped, Error = $"{result.Target}: {e.Message}{after}" };
        }

        // A narrow window: the 250 is recorded before anything else touches the network (a QUIT when the
        // connection has carried enough, the next transaction), and the pool's QUIT does not hold it up either.
        if (decided is not null)
        {
            await decided(result with { Replies = replies }).ConfigureAwait(false);
        }

        await pool.ReturnAsync(key, connection).ConfigureAwait(false);
        return result with { Replies = replies };
    }
}
