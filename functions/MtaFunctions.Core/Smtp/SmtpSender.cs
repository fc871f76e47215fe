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
public sealed class SmtpSender(OutboundSettings settings, SmtpConnectionPool pool)
{
    /// <summary>Delivers <paramref name="message"/> to <paramref name="recipients"/> through <paramref name="target"/>.</summary>
    /// <param name="target">MX host and address.</param>
    /// <param name="policy">TLS requirement and certificate check.</param>
    /// <param name="from">Envelope sender; "" sends <c>MAIL FROM:&lt;&gt;</c>.</param>
    /// <param name="recipients">Envelope recipients.</param>
    /// <param name="message">The message to send.</param>
    /// <param name="cancellationToken">Cancels the session.</param>
    public async Task<SmtpSessionResult> SendAsync(
        SmtpTarget target, MxTlsPolicy policy, string from, IReadOnlyList<string> recipients, RelayMessage message,
        CancellationToken cancellationToken)
    {
        var key = SmtpConnectionPool.KeyFor(target, policy);
        if (pool.Take(key) is { } pooled)
        {
            var reused = await TransactAsync(key, pooled, target, from, recipients, message, cancellationToken).ConfigureAwait(false);

            // The server closed an idle connection before answering MAIL or any RCPT: nothing was sent,
            // so a fresh connection is safe. Later failures are reported (the message may have arrived).
            if (!(reused.Failure == SessionFailure.Dropped && reused.Replies.Count == 0 && !pooled.Client.Replies.Any()))
            {
                return reused with { Reused = true };
            }
        }

        var (connection, failure) = await ConnectAsync(target, policy, cancellationToken).ConfigureAwait(false);
        if (connection is not null)
        {
            return await TransactAsync(key, connection, target, from, recipients, message, cancellationToken).ConfigureAwait(false);
        }

        if (PlaintextFallback(policy, failure!) is not { } tlsFailure)
        {
            return failure!;
        }

        // Opportunistic TLS only (RFC 3207 §4.1, as Postfix "may" and mox do): the server refused STARTTLS or the
        // handshake broke without a certificate verdict against it, so the message goes in plaintext on a new
        // connection, and TLS-RPT counts the failure. A plaintext connection is pooled under its own key.
        var plaintext = policy with { Tls = TlsRequirement.Disabled };
        var (fallback, _) = await ConnectAsync(target, plaintext, cancellationToken).ConfigureAwait(false);
        if (fallback is null)
        {
            return failure!;
        }

        var sent = await TransactAsync(SmtpConnectionPool.KeyFor(target, plaintext), fallback, target, from, recipients, message, cancellationToken)
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

    private async Task<(PooledConnection? Connection, SmtpSessionResult? Failure)> ConnectAsync(
        SmtpTarget target, MxTlsPolicy policy, CancellationToken cancellationToken)
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

        var options = policy.Tls switch
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

    private async Task<SmtpSessionResult> TransactAsync(
        string key, PooledConnection connection, SmtpTarget target, string from, IReadOnlyList<string> recipients,
        RelayMessage message, CancellationToken cancellationToken)
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
        try
        {
            var dataReply = await client.SendAsync(wire, sender, rcpts, cancellationToken).ConfigureAwait(false);
            var replies = recipients.Select(r => client.Replies.TryGetValue(r, out var reply) && reply.Code >= 400
                    ? reply
                    : new RecipientReply(r, 250, dataReply))
                .ToList();
            await pool.ReturnAsync(key, connection).ConfigureAwait(false);
            return result with { Replies = replies };
        }
        catch (Exception e) when (e is SmtpCommandException or ServiceNotAuthenticatedException)
        {
            // Every reply decides: each recipient gets the reply that concerns it (see TransactionReplies).
            var replies = TransactionReplies.Assign(recipients, client.Replies, e);
            await SmtpConnectionPool.CloseAsync(client).ConfigureAwait(false);
            return result with { Replies = replies };
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
    }
}
