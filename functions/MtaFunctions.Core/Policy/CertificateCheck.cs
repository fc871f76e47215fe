using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>What the TLS handshake gave us to judge the server by.</summary>
/// <param name="Leaf">The server certificate.</param>
/// <param name="PeerChain">Every certificate the server sent, leaf first (the handshake's extra store).</param>
/// <param name="Errors">.NET's own verdict against the system store and <paramref name="MxHost"/>.</param>
/// <param name="MxHost">The MX host name (SNI and the name checked).</param>
public sealed record CertificateContext(
    X509Certificate2 Leaf, IReadOnlyList<X509Certificate2> PeerChain, SslPolicyErrors Errors, string MxHost);

/// <summary>The judgement of one server certificate.</summary>
/// <param name="Accept">Whether the handshake may complete.</param>
/// <param name="Verified">Whether the certificate passed PKIX or DANE authentication.</param>
/// <param name="Failure">Why it did not verify, as an RFC 8460 result type.</param>
/// <param name="Reason">Detail for logs and failure-reason-code.</param>
/// <param name="MatchedRecord">For DANE: the TLSA record that matched.</param>
public sealed record CertificateVerdict(
    bool Accept, bool Verified, TlsRptResultType? Failure = null, string? Reason = null, string? MatchedRecord = null)
{
    /// <summary>Verified and accepted.</summary>
    public static CertificateVerdict Trusted(string? matchedRecord = null) => new(true, true, null, null, matchedRecord);

    /// <summary>Refused with a reason.</summary>
    public static CertificateVerdict Refused(TlsRptResultType failure, string reason) => new(false, false, failure, reason);
}

/// <summary>A way of judging server certificates: PKIX, DANE, or accept-anything.</summary>
public interface ICertificateCheck
{
    /// <summary>Judges the certificate the server presented.</summary>
    CertificateVerdict Check(CertificateContext context);

    /// <summary>
    /// Every input of the verdict besides the handshake and the MX host (which the pool key holds already):
    /// a pooled session is only reused under a check with the same key, since its certificate was judged once.
    /// </summary>
    string ReuseKey { get; }
}
