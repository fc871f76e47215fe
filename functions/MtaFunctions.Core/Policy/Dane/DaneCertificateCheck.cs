using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// Authenticates an SMTP server by its TLSA records (RFC 7672 §3): DANE-EE(3) records match the server's own
/// certificate or key; DANE-TA(2) records match a trust anchor the chain is then built and checked to.
/// </summary>
/// <remarks>
/// DANE-EE ignores names and validity dates (RFC 7671 §5.1). DANE-TA validates the chain up to the matched
/// anchor: signatures, validity dates, CA and path-length constraints, server-auth EKU, and a DNS-ID in the
/// subject alternative names equal to a reference identifier (RFC 7672 §3.2.2; never the common name,
/// RFC 6125 §6.4.4). AllowInvalidCerts never wraps this check: a refusal ends the session (RFC 7672 §2.2).
/// </remarks>
/// <param name="records">The TLSA RRset of the MX host.</param>
/// <param name="referenceIdentifiers">
/// Names a DANE-TA certificate may carry: the TLSA base domain first (it MUST be accepted), then the original
/// MX host name and the recipient domain (RFC 7672 §3.2.2 lets the client accept those).
/// </param>
public sealed class DaneCertificateCheck(TlsaRecordSet records, IReadOnlyList<string> referenceIdentifiers) : ICertificateCheck
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");

    /// <summary>The records this check authenticates with.</summary>
    public TlsaRecordSet Records => records;

    /// <summary>The names a DANE-TA certificate may carry.</summary>
    public IReadOnlyList<string> ReferenceIdentifiers => referenceIdentifiers;

    /// <inheritdoc />
    /// <remarks>
    /// The records, and under DANE-TA the reference identifiers too (RFC 7672 §3.2.2): a session authenticated
    /// for one recipient domain's names is never reused for another domain on the same MX whose names the
    /// certificate may not carry. DANE-EE ignores names (RFC 7671 §5.1), so without DANE-TA records the names
    /// are left out and the session serves every domain of that MX.
    /// </remarks>
    public string ReuseKey =>
        $"dane {records.BaseDomain} {string.Join(",", records.Effective)}"
        + (records.Effective.Any(r => r.KnownUsage == TlsaUsage.DaneTa) ? $" names={string.Join(",", referenceIdentifiers)}" : "");

    /// <inheritdoc />
    public CertificateVerdict Check(CertificateContext context)
    {
        // RFC 7672 §3.1.1 / RFC 7671 §5.1: DANE-EE matches the leaf; names and expiry are ignored.
        foreach (var ee in records.Effective.Where(r => r.KnownUsage == TlsaUsage.DaneEe))
        {
            if (TlsaMatcher.Matches(ee, context.Leaf))
            {
                return CertificateVerdict.Trusted(ee.ToString());
            }
        }

        var taRecords = records.Effective.Where(r => r.KnownUsage == TlsaUsage.DaneTa).ToList();
        string? taFailure = null;
        TlsRptResultType taFailureType = TlsRptResultType.ValidationFailure;
        foreach (var ta in taRecords)
        {
            // Spec note: a DANE-TA record is matched against the issuer certificates the server sent, never the
            // leaf itself (RFC 7671 §5.2: TA records name a trust anchor, not the end entity).
            foreach (var anchor in context.PeerChain.Where(c => !c.RawDataMemory.Span.SequenceEqual(context.Leaf.RawDataMemory.Span)))
            {
                if (!TlsaMatcher.Matches(ta, anchor))
                {
                    continue;
                }

                var failure = ValidateToAnchor(context.Leaf, context.PeerChain, anchor);
                if (failure is null)
                {
                    return CertificateVerdict.Trusted(ta.ToString());
                }

                (taFailureType, taFailure) = failure.Value;
            }

            // RFC 7671 §5.2.2–§5.2.3: a full anchor in DNS (2 0 0 certificate, 2 1 0 bare key) is used as it is
            // when the server does not send it.
            if (ta.KnownMatchingType == TlsaMatchingType.Full && FromDns(ta, context) is { } fromDns)
            {
                if (fromDns.Failure is null)
                {
                    return CertificateVerdict.Trusted(ta.ToString());
                }

                (taFailureType, taFailure) = fromDns.Failure.Value;
            }
        }

        if (taFailure is not null)
        {
            return CertificateVerdict.Refused(taFailureType, $"DANE-TA: {taFailure}");
        }

        // RFC 8460 §4.3.2.1 validation-failure: no TLSA record matched what the server presented.
        return CertificateVerdict.Refused(
            TlsRptResultType.ValidationFailure,
            $"no TLSA record of {records.BaseDomain} matches the server's certificate {context.Leaf.Subject}");
    }

    // Null when the record does not apply here (the server sent that anchor, judged above).
    private AnchorOutcome? FromDns(TlsaRecord ta, CertificateContext context)
    {
        if (ta.KnownSelector == TlsaSelector.Cert)
        {
            X509Certificate2 anchor;
            try
            {
                anchor = X509CertificateLoader.LoadCertificate(ta.Data);
            }
            catch (CryptographicException)
            {
                return new((TlsRptResultType.TlsaInvalid, $"{ta}: the record's data is not a certificate"));
            }

            return context.PeerChain.Any(c => c.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span))
                ? null
                : new(ValidateToAnchor(context.Leaf, [.. context.PeerChain, anchor], anchor));
        }

        // A certificate the server sent with this key was matched above; otherwise the key signs the top of the path.
        return context.PeerChain.Skip(1).Any(c => TlsaMatcher.Matches(ta, c))
            ? null
            : new(ValidateToKey(context.Leaf, context.PeerChain, ta.Data));
    }

    // RFC 7671 §5.2.3: the anchor is a bare public key; the path runs from the leaf up to the first certificate
    // that key signed. Signatures, dates, EKU, CA and path-length constraints are checked below it.
    private (TlsRptResultType Type, string Reason)? ValidateToKey(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> peerChain, byte[] spki)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.ExtraStore.AddRange(peerChain.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        // Spec note: TA records never authenticate the leaf by its own key (RFC 7671 §5.2); that is DANE-EE's job.
        if (leaf.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(spki))
        {
            return (TlsRptResultType.ValidationFailure, "the TLSA trust-anchor key is the server certificate's own key");
        }

        chain.Build(leaf);
        var elements = chain.ChainElements.ToList();
        var top = elements.FindIndex(e => CertificateSignature.IsSignedBy(e.Certificate, spki));
        if (top < 0)
        {
            return (TlsRptResultType.ValidationFailure, "no certificate of the chain is signed by the TLSA key");
        }

        var statuses = elements.Take(top + 1)
            .SelectMany(e => e.ChainElementStatus.Select(s => s.Status))
            .Where(s => s is not X509ChainStatusFlags.PartialChain and not X509ChainStatusFlags.UntrustedRoot and not X509ChainStatusFlags.NoError)
            .ToList();
        if (statuses.Count > 0)
        {
            var reason = string.Join(", ", statuses.Select(s => s.ToString()).Distinct());
            return statuses.Contains(X509ChainStatusFlags.NotTimeValid)
                ? (TlsRptResultType.CertificateExpired, $"chain to the TLSA key: {reason}")
                : (TlsRptResultType.CertificateNotTrusted, $"chain to the TLSA key: {reason}");
        }

        return Constraints(elements.Select(e => e.Certificate).ToList(), top) ?? Names(leaf);
    }

    private (TlsRptResultType Type, string Reason)? ValidateToAnchor(
        X509Certificate2 leaf, IReadOnlyList<X509Certificate2> peerChain, X509Certificate2 anchor)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);

        // RFC 7671 §5.2: only the path from the leaf to the anchor counts; certificates the server sent above the
        // anchor (its issuer, maybe expired) are left out so that the chain ends there.
        chain.ChainPolicy.ExtraStore.AddRange(peerChain
            .Where(c => c.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span) || !c.SubjectName.RawData.AsSpan().SequenceEqual(anchor.IssuerName.RawData))
            .ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;

        // The anchor may be an intermediate, not self-signed: the chain then stops there as "partial",
        // which is what DANE-TA means (RFC 7671 §5.2). Signatures and dates are still checked.
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        var built = chain.Build(leaf);
        var statuses = chain.ChainStatus
            .Select(s => s.Status)
            .Where(s => s is not X509ChainStatusFlags.PartialChain and not X509ChainStatusFlags.UntrustedRoot)
            .ToList();
        var elements = chain.ChainElements.Select(e => e.Certificate).ToList();
        var anchorIndex = elements.FindIndex(c => c.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span));
        if (!built || statuses.Count > 0)
        {
            var reason = string.Join(", ", statuses.Select(s => s.ToString()).Distinct());
            return statuses.Contains(X509ChainStatusFlags.NotTimeValid)
                ? (TlsRptResultType.CertificateExpired, $"chain to the anchor {anchor.Subject}: {reason}")
                : (TlsRptResultType.CertificateNotTrusted, $"chain to the anchor {anchor.Subject}: {(reason.Length > 0 ? reason : "not built")}");
        }

        // The platform may have built past the anchor to another root; only a chain through the matched anchor counts.
        if (anchorIndex < 0)
        {
            return (TlsRptResultType.CertificateNotTrusted, $"the chain does not lead to the anchor {anchor.Subject}");
        }

        return Constraints(elements, anchorIndex) ?? Names(leaf);
    }

    // Basic constraints and path length up to the anchor (RFC 5280 §4.2.1.9), also when the platform stopped
    // early: every issuer below the anchor must be a CA whose path length allows what is below it.
    private static (TlsRptResultType Type, string Reason)? Constraints(List<X509Certificate2> elements, int anchorIndex)
    {
        for (var i = 1; i <= anchorIndex; i++)
        {
            var constraints = elements[i].Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault();
            if (constraints is null || !constraints.CertificateAuthority)
            {
                return (TlsRptResultType.CertificateNotTrusted, $"{elements[i].Subject} is not a CA");
            }

            if (constraints.HasPathLengthConstraint && constraints.PathLengthConstraint < i - 1)
            {
                return (TlsRptResultType.CertificateNotTrusted, $"{elements[i].Subject} path length {constraints.PathLengthConstraint} exceeded");
            }
        }

        return null;
    }

    // RFC 7672 §3.2.2: a DNS-ID (SAN only, RFC 6125 §6.4.4) must equal a reference identifier.
    private (TlsRptResultType Type, string Reason)? Names(X509Certificate2 leaf) =>
        referenceIdentifiers.Any(name => leaf.MatchesHostname(name, allowWildcards: true, allowCommonName: false))
            ? null
            : (TlsRptResultType.CertificateHostMismatch, $"certificate names none of {string.Join(", ", referenceIdentifiers)}");

    private sealed record AnchorOutcome((TlsRptResultType Type, string Reason)? Failure);
}
