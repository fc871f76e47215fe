using MtaFunctions.Core.Policy;

namespace MtaFunctions.Core.Smtp;

/// <summary>Why a session ended before the server judged the recipients.</summary>
public enum SessionFailure
{
    /// <summary>The session reached the transaction; replies are per recipient.</summary>
    None,

    /// <summary>TCP connect refused, unreachable or timed out.</summary>
    Connect,

    /// <summary>STARTTLS was required but the server did not offer it.</summary>
    StartTlsNotOffered,

    /// <summary>The TLS handshake failed, or the certificate was refused.</summary>
    TlsHandshake,

    /// <summary>The server offered STARTTLS, then refused it (4xx/5xx to the command).</summary>
    StartTlsRefused,

    /// <summary>The server greeted or answered EHLO with an error, or broke the protocol.</summary>
    Protocol,

    /// <summary>A command timed out or the connection dropped mid-session.</summary>
    Dropped,

    /// <summary>The destination's fleet-wide limit gave no connection slot or rate token in time; nothing was sent.</summary>
    Throttled,
}

/// <summary>An SMTP reply to one recipient.</summary>
/// <param name="Recipient">The envelope recipient.</param>
/// <param name="Code">The reply code (2xx, 4xx, 5xx).</param>
/// <param name="Text">The reply text, enhanced status code included.</param>
public sealed record RecipientReply(string Recipient, int Code, string Text)
{
    public override string ToString() => $"{Code} {Text}".Trim();
}

/// <summary>TLS details of a session, recorded with the outcome.</summary>
/// <param name="Version">Negotiated protocol, e.g. Tls13.</param>
/// <param name="Cipher">Negotiated cipher suite.</param>
/// <param name="CertificateSubject">Server certificate subject.</param>
/// <param name="Verdict">How the certificate was judged.</param>
public sealed record TlsDetails(string Version, string? Cipher, string? CertificateSubject, CertificateVerdict? Verdict);

/// <summary>The outcome of one SMTP session to one <see cref="SmtpTarget"/>.</summary>
public sealed record SmtpSessionResult
{
    public required SmtpTarget Target { get; init; }
    public SessionFailure Failure { get; init; }

    /// <summary>What went wrong, for logs, status and DSNs.</summary>
    public string? Error { get; init; }

    /// <summary>Per-recipient final replies (RCPT reply, or the DATA reply for accepted ones).</summary>
    public IReadOnlyList<RecipientReply> Replies { get; init; } = [];

    /// <summary>TLS details when the session was encrypted, or when a certificate was judged and refused.</summary>
    public TlsDetails? Tls { get; init; }

    /// <summary>Whether the server offered STARTTLS (null when the session never got that far).</summary>
    public bool? StartTlsOffered { get; init; }

    /// <summary>Our local address of the session (TLS-RPT sending-mta-ip).</summary>
    public string? LocalAddress { get; init; }

    /// <summary>Set when the bytes sent differ from the queued ones, and why (a 7-bit conversion).</summary>
    public string? Conversion { get; init; }

    /// <summary>The transaction ran on a pooled connection: no new TLS session was negotiated for it.</summary>
    public bool Reused { get; init; }

    /// <summary>The server said it is busy (421, "too many connections"): the destination's fleet-wide limit goes down.</summary>
    public bool Busy { get; init; }

    /// <summary>
    /// Set when opportunistic TLS failed (STARTTLS refused, handshake broken) and the message went in plaintext
    /// on a second connection: the failure TLS-RPT counts for this session.
    /// </summary>
    public (Reporting.TlsRpt.TlsRptResultType Type, string Reason)? TlsFallback { get; init; }
}
