using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Core.Reporting.TlsRpt;
using static MtaFunctions.Tests.Policy.Dane.DaneTestCertificates;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// DANE-EE and DANE-TA matching (RFC 7672 §3, RFC 7671 §5), the equivalents of Stalwart's dane.rs unit tests,
/// with certificates made here.
/// </summary>
public sealed class DaneCertificateCheckTests
{
    private const string MxHost = "mx.example.test";
    private const string Domain = "example.test";

    private static readonly DateTimeOffset LongAgo = DateTimeOffset.UtcNow.AddYears(-3);
    private static readonly DateTimeOffset Yesterday = DateTimeOffset.UtcNow.AddDays(-1);

    private static readonly X509Certificate2 Root = Ca("Test Root");
    private static readonly X509Certificate2 Intermediate = Ca("Test Intermediate", Root);
    private static readonly X509Certificate2 LeafFromIntermediate = Leaf(Intermediate, [MxHost]);

    private static CertificateVerdict Run(IReadOnlyList<TlsaRecord> records, X509Certificate2 leaf, params X509Certificate2[] sentAfterLeaf)
    {
        var check = new DaneCertificateCheck(new TlsaRecordSet(MxHost, records), [MxHost, Domain]);
        var peer = new List<X509Certificate2> { Public(leaf) };
        peer.AddRange(sentAfterLeaf.Select(Public));
        return check.Check(new CertificateContext(Public(leaf), peer, SslPolicyErrors.RemoteCertificateChainErrors, MxHost));
    }

    private static void AssertTrusted(CertificateVerdict verdict, TlsaRecord expectedMatch)
    {
        Assert.True(verdict.Accept, verdict.Reason);
        Assert.True(verdict.Verified);
        Assert.Equal(expectedMatch.ToString(), verdict.MatchedRecord);
    }

    [Fact]
    public void Check_DaneEeMatchesLeafIgnoringName_Trusted()
    {
        var leaf = Leaf(null, ["some-other-name.test"]);
        var record = Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, leaf);
        AssertTrusted(Run([record], leaf), record);
    }

    [Fact]
    public void Check_DaneEeIgnoresExpiration_Trusted()
    {
        var leaf = Leaf(Root, [MxHost], notBefore: LongAgo, notAfter: Yesterday);
        var record = Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, leaf);
        AssertTrusted(Run([record], leaf), record);
    }

    [Theory]
    [InlineData(TlsaSelector.Cert, TlsaMatchingType.Full)]
    [InlineData(TlsaSelector.Cert, TlsaMatchingType.Sha256)]
    [InlineData(TlsaSelector.Cert, TlsaMatchingType.Sha512)]
    [InlineData(TlsaSelector.Spki, TlsaMatchingType.Full)]
    [InlineData(TlsaSelector.Spki, TlsaMatchingType.Sha256)]
    [InlineData(TlsaSelector.Spki, TlsaMatchingType.Sha512)]
    public void Check_DaneEeEverySelectorAndMatchingType_Trusted(TlsaSelector selector, TlsaMatchingType matching)
    {
        var leaf = Leaf(null, [MxHost]);
        var record = Tlsa(TlsaUsage.DaneEe, selector, matching, leaf);
        AssertTrusted(Run([record], leaf), record);
    }

    [Fact]
    public void Check_DaneEeOtherKey_ValidationFailure()
    {
        var leaf = Leaf(null, [MxHost]);
        var other = Leaf(null, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, other)], leaf);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.ValidationFailure, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaAnchorsAtPrivateIntermediate_Trusted()
    {
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate);
        AssertTrusted(Run([record], LeafFromIntermediate, Intermediate), record);
    }

    [Fact]
    public void Check_DaneTaAnchorsAtSelfSignedRoot_Trusted()
    {
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Root);
        AssertTrusted(Run([record], LeafFromIntermediate, Intermediate, Root), record);
    }

    [Fact]
    public void Check_DaneTaMatchesWhenEePresentButUnmatched_Trusted()
    {
        var ee = Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, Leaf(null, [MxHost]));
        var ta = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate);
        AssertTrusted(Run([ee, ta], LeafFromIntermediate, Intermediate), ta);
    }

    [Theory]
    [InlineData(MxHost, true)]
    [InlineData(Domain, true)]
    [InlineData("*.example.test", true)]
    [InlineData("elsewhere.test", false)]
    public void Check_DaneTaRequiresNameMatch_AnyReferenceIdentifier(string certName, bool trusted)
    {
        var leaf = Leaf(Intermediate, [certName]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], leaf, Intermediate);
        Assert.Equal(trusted, verdict.Accept);
        if (!trusted)
        {
            Assert.Equal(TlsRptResultType.CertificateHostMismatch, verdict.Failure);
        }
    }

    [Fact]
    public void Check_DaneTaRejectsUnrelatedCaMatchingHash_Refused()
    {
        // Same name as the published intermediate, other key: the leaf's signature does not verify under the anchor.
        var lookalike = Ca("Test Intermediate", Root);
        var leaf = Leaf(lookalike, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], leaf, Intermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaRejectsExpiredIntermediate_CertificateExpired()
    {
        var expired = Ca("Expired Intermediate", Root, notBefore: LongAgo, notAfter: Yesterday);
        var leaf = Leaf(expired, [MxHost], notBefore: LongAgo);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Root)], leaf, expired, Root);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateExpired, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaRejectsExpiredLeaf_CertificateExpired()
    {
        var leaf = Leaf(Intermediate, [MxHost], notBefore: LongAgo, notAfter: Yesterday);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], leaf, Intermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateExpired, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaBareKeyAnchorsChain_Trusted()
    {
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha256, Intermediate);
        AssertTrusted(Run([record], LeafFromIntermediate, Intermediate), record);
    }

    [Fact]
    public void Check_DaneTaBareKeyFullMatch_Trusted()
    {
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full, Intermediate);
        AssertTrusted(Run([record], LeafFromIntermediate, Intermediate), record);
    }

    [Fact]
    public void Check_DaneTaDoesNotMatchLeaf_ValidationFailure()
    {
        var leaf = Leaf(null, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, leaf)], leaf);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.ValidationFailure, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaBareKeyAnchorsDeepChain_Trusted()
    {
        var second = Ca("Second Intermediate", Intermediate);
        var leaf = Leaf(second, [MxHost]);
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Sha512, Intermediate);
        AssertTrusted(Run([record], leaf, second, Intermediate), record);
    }

    [Fact]
    public void Check_DaneTaRejectsPathLengthViolation_Refused()
    {
        var constrainedRoot = Ca("PathLen0 Root", pathLength: 0);
        var below = Ca("Below PathLen0", constrainedRoot);
        var leaf = Leaf(below, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, constrainedRoot)], leaf, below, constrainedRoot);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaValidatesUnorderedPaddedChain_Trusted()
    {
        var second = Ca("Second Intermediate", Intermediate);
        var leaf = Leaf(second, [MxHost]);
        var unrelated = Ca("Unrelated CA");
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate);
        AssertTrusted(Run([record], leaf, unrelated, Intermediate, second), record);
    }

    [Fact]
    public void Check_DaneTaRejectsNonCaIssuer_Refused()
    {
        var notCa = Ca("Not A CA", Root, isCa: false);
        var leaf = Leaf(notCa, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, notCa)], leaf, notCa);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaRejectsEeWithoutServerAuthEku_Refused()
    {
        var leaf = Leaf(Intermediate, [MxHost], serverAuth: false);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], leaf, Intermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaAcceptsEeWithServerAuthEku_Trusted()
    {
        var leaf = Leaf(Intermediate, [MxHost], serverAuth: true);
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate);
        AssertTrusted(Run([record], leaf, Intermediate), record);
    }

    [Fact]
    public void Check_DaneTaIgnoresCommonName_HostMismatch()
    {
        var leaf = Leaf(Intermediate, ["unrelated.test"], commonName: MxHost);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], leaf, Intermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateHostMismatch, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaAnchorNotSent_ValidationFailure()
    {
        // RFC 7671 §5.2.2: a digest cannot stand in for an anchor the server did not send: nothing matches.
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, Intermediate)], LeafFromIntermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.ValidationFailure, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaFullCertificateFromDnsNotSent_Trusted()
    {
        // RFC 7671 §5.2.2: "2 0 0" carries the whole anchor; the server may leave it out.
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Full, Intermediate);
        AssertTrusted(Run([record], LeafFromIntermediate), record);
    }

    [Fact]
    public void Check_DaneTaBareKeyFromDnsNotSent_Trusted()
    {
        // RFC 7671 §5.2.3: "2 1 0" is a bare key; the first certificate it signed ends the path.
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full, Intermediate);
        AssertTrusted(Run([record], LeafFromIntermediate), record);
    }

    [Fact]
    public void Check_DaneTaBareKeyFromDnsDeepChain_Trusted()
    {
        var second = Ca("Second Intermediate", Intermediate);
        var leaf = Leaf(second, [MxHost]);
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full, Intermediate);
        AssertTrusted(Run([record], leaf, second), record);
    }

    [Fact]
    public void Check_DaneTaBareKeyFromDnsSignedNothingSent_ValidationFailure()
    {
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full, Ca("Unrelated Key Holder"));
        var verdict = Run([record], LeafFromIntermediate, Intermediate);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.ValidationFailure, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaBareKeyIsTheLeafsOwnKey_NotTrusted()
    {
        // Spec note in DaneCertificateCheck: TA records never authenticate the leaf by its own key.
        var leaf = Leaf(null, [MxHost]);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Spki, TlsaMatchingType.Full, leaf)], leaf);
        Assert.False(verdict.Accept);
    }

    [Fact]
    public void Check_DaneTaFullCertificateFromDnsExpiredLeaf_CertificateExpired()
    {
        var leaf = Leaf(Intermediate, [MxHost], notBefore: LongAgo, notAfter: Yesterday);
        var verdict = Run([Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Full, Intermediate)], leaf);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.CertificateExpired, verdict.Failure);
    }

    [Fact]
    public void Check_DaneTaExpiredRootAboveAnchor_Trusted()
    {
        // RFC 7671 §5.2: only the path from the leaf to the matched anchor is judged.
        var expiredRoot = Ca("Expired Root", notBefore: LongAgo, notAfter: Yesterday);
        var anchor = Ca("Anchor Below Expired Root", expiredRoot);
        var leaf = Leaf(anchor, [MxHost]);
        var record = Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, anchor);
        AssertTrusted(Run([record], leaf, anchor, expiredRoot), record);
    }

    [Fact]
    public void Check_DigestAgilityOnlyWeakerDigestMatches_ValidationFailure()
    {
        // RFC 7671 §9: with 3 1 1 and 3 1 2 published, only 3 1 2 counts.
        var leaf = Leaf(null, [MxHost]);
        var other = Leaf(null, [MxHost]);
        var verdict = Run(
            [Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, leaf), Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512, other)],
            leaf);
        Assert.False(verdict.Accept);
        Assert.Equal(TlsRptResultType.ValidationFailure, verdict.Failure);
    }

    [Fact]
    public void Check_DigestAgilityStrongestDigestMatches_Trusted()
    {
        var leaf = Leaf(null, [MxHost]);
        var other = Leaf(null, [MxHost]);
        var strong = Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512, leaf);
        AssertTrusted(Run([Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, other), strong], leaf), strong);
    }

    [Fact]
    public void Check_PkixRecordsOnly_NeverTrusted()
    {
        var leaf = Leaf(null, [MxHost]);
        var verdict = Run(
            [Tlsa(TlsaUsage.PkixEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, leaf), Tlsa(TlsaUsage.PkixTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, leaf)],
            leaf);
        Assert.False(verdict.Accept);
    }
}
