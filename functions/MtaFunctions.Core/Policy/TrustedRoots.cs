using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy;

/// <summary>
/// The roots server certificates may chain to: the system store, plus the PEM file of
/// <c>Queue:Outbound:Tls:ExtraRootCas</c> (private MX hosts, tests).
/// </summary>
public sealed class TrustedRoots
{
    private static readonly System.Security.Cryptography.Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private readonly X509Certificate2Collection _extra;

    /// <summary>Loads the extra roots, if a file is given.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The PEM file holds no readable certificate.</exception>
    public TrustedRoots(string? extraRootsPemFile)
    {
        _extra = [];
        if (extraRootsPemFile is not null)
        {
            _extra.ImportFromPemFile(extraRootsPemFile);
            if (_extra.Count == 0)
            {
                throw new System.Security.Cryptography.CryptographicException($"{extraRootsPemFile}: no PEM certificate found");
            }
        }
    }

    /// <summary>The extra roots (for HTTPS clients that validate the same way).</summary>
    public X509Certificate2Collection Extra => _extra;

    /// <summary>
    /// Checks the chain; returns null when it is trusted, else the refusal with its RFC 8460 result type.
    /// </summary>
    /// <param name="leaf">The server certificate.</param>
    /// <param name="peerChain">What the server sent.</param>
    /// <param name="systemTrusted">The platform already validated the chain against the system store.</param>
    public CertificateVerdict? Validate(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> peerChain, bool systemTrusted)
    {
        if (systemTrusted)
        {
            return null;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;

        // RFC 5280 §4.2.1.12: a certificate restricted to other purposes (client-auth only) is not a server
        // certificate; SslStream asks for serverAuth, and so does the rebuilt chain.
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuth);
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ExtraStore.AddRange(peerChain.ToArray());
        if (_extra.Count > 0)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_extra);
        }

        if (chain.Build(leaf))
        {
            return null;
        }

        var statuses = chain.ChainStatus.Select(s => s.Status).ToList();
        var reason = string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
        return statuses.Contains(X509ChainStatusFlags.NotTimeValid)
            ? CertificateVerdict.Refused(TlsRptResultType.CertificateExpired, reason)
            : statuses.All(s => s == X509ChainStatusFlags.NotValidForUsage)
                ? CertificateVerdict.Refused(TlsRptResultType.ValidationFailure, $"certificate not valid for TLS server authentication ({reason})")
                : CertificateVerdict.Refused(TlsRptResultType.CertificateNotTrusted, reason);
    }
}
