using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Operations;

/// <summary>
/// The posture of a destination domain as this MTA sees it — <c>posttls-finger</c> plus an MTA-STS / TLSRPT
/// checker — built from the delivery's own parts: the same resolver, MX order, TLSA lookup, MTA-STS discovery
/// and fetcher, policy resolver and certificate checks. Nothing here is a second implementation.
/// </summary>
/// <remarks>
/// The live probe connects to each MX address, says EHLO, takes STARTTLS when offered, records the handshake
/// and the chain, and quits before MAIL: no message is sent. The certificate is then judged offline by PKIX,
/// by the host's TLSA records and by the MTA-STS policy, and by the policy delivery would apply.
/// </remarks>
public sealed class DomainPostureCheck(
    OutboundSettings settings, IDnsResolver dns, MxResolver mxResolver, TlsaLookup tlsaLookup, MtaStsDiscovery stsDiscovery,
    MtaStsFetcher stsFetcher, TlsPolicyResolver policies, TrustedRoots roots, DestinationGuard guard)
{
    private readonly PkixCertificateCheck _pkix = new(roots);

    /// <summary>Checks <paramref name="domain"/> (A-labels, lower case).</summary>
    public async Task<DomainPosture> CheckAsync(string domain, CancellationToken cancellationToken)
    {
        var mx = await mxResolver.ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
        var (sts, stsPolicy) = await StsAsync(domain, cancellationToken).ConfigureAwait(false);
        var tlsRpt = await TlsRptAsync(domain, cancellationToken).ConfigureAwait(false);
        var mxPosture = new MxPosture(mx.Hosts, mx.Implicit, mx.PermanentError ?? mx.TemporaryError);
        if (mx.PermanentError is not null || mx.TemporaryError is not null)
        {
            var permanent = mx.PermanentError is not null;
            return new DomainPosture(domain, mxPosture, sts, tlsRpt, [], new DeliveryVerdict(
                false, null, null, null, permanent ? $"bounced: {mx.PermanentError}" : $"deferred: {mx.TemporaryError}"));
        }

        var plan = await policies.ForDomainAsync(domain, tlsRequiredNo: false, cancellationToken).ConfigureAwait(false);
        var hosts = new List<MxHostPosture>();
        foreach (var host in mx.Hosts)
        {
            hosts.Add(await HostAsync(domain, host, plan, stsPolicy, cancellationToken).ConfigureAwait(false));
        }

        return new DomainPosture(domain, mxPosture, sts, tlsRpt, hosts, Verdict(hosts));
    }

    private async Task<MxHostPosture> HostAsync(
        string domain, string host, DomainTlsPlan plan, MtaStsPolicy? stsPolicy, CancellationToken cancellationToken)
    {
        var addresses = await dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        var listed = addresses.Records.Select(a => a.ToString()).ToList();
        if (addresses.Status != DnsStatus.Found)
        {
            var lookup = $"{addresses.Status}{(addresses.Error is null ? "" : $" ({addresses.Error})")}";
            return new MxHostPosture(host, listed, lookup, addresses.Authenticated, null, null, []);
        }

        var tlsa = await tlsaLookup.LookupAsync(host, addresses, cancellationToken).ConfigureAwait(false);
        var tlsaPosture = new TlsaPosture(
            Word(tlsa.Status), tlsa.BaseDomain,
            [.. (tlsa.Records?.All ?? []).Select(r => new TlsaRecordPosture(r.ToString(), r.IsUsable, r.UnusableReason))], tlsa.Reason);
        var policy = await plan.ForMxAsync(host, addresses, cancellationToken).ConfigureAwait(false);
        var policyPosture = new PolicyPosture(policy.Applied, Word(policy.Tls), policy.Detail, policy.Refusal?.Reason);
        var dane = tlsa.Status == TlsaLookupStatus.Usable
            ? new DaneCertificateCheck(tlsa.Records!, [.. new[] { tlsa.BaseDomain, host, domain }.Distinct(StringComparer.OrdinalIgnoreCase)])
            : null;
        var probes = new List<SmtpProbe>();
        foreach (var address in addresses.Records)
        {
            probes.Add(await ProbeAsync(host, address, policy, dane, stsPolicy, cancellationToken).ConfigureAwait(false));
        }

        return new MxHostPosture(host, listed, "found", addresses.Authenticated, tlsaPosture, policyPosture, probes);
    }

    private async Task<SmtpProbe> ProbeAsync(
        string host, IPAddress address, MxTlsPolicy policy, DaneCertificateCheck? dane, MtaStsPolicy? stsPolicy, CancellationToken cancellationToken)
    {
        var text = address.ToString();
        if (!guard.IsAllowed(address))
        {
            var why = $"not probed: not a public address ({SettingKeys.AllowPrivateDestinations} is off)";
            return new SmtpProbe(text, why, null, null, null, [], null, null, null, new ProbeDelivery(false, why));
        }

        X509Certificate2? leaf = null;
        List<X509Certificate2> peer = [];
        var errors = SslPolicyErrors.None;
        using var client = new SmtpClient
        {
            LocalDomain = settings.Hostname,
            Timeout = (int)Math.Min(int.MaxValue, settings.CommandTimeout.TotalMilliseconds),
            CheckCertificateRevocation = false,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };

        // A probe sends no mail: take whatever certificate comes, and judge it afterwards under each policy.
        client.ServerCertificateValidationCallback = (_, certificate, chain, sslErrors) =>
        {
            if (certificate is not null)
            {
                // Copies: the handshake's certificate and chain objects are released when it ends, the judging comes after.
                leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                peer = chain?.ChainPolicy.ExtraStore.Select(c => X509CertificateLoader.LoadCertificate(c.RawData)).ToList() ?? [];
                if (peer.Count == 0 || !peer[0].RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span))
                {
                    peer.Insert(0, leaf);
                }
            }

            errors = sslErrors;
            return true;
        };

        string? error = null;
        bool? offered = null;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                connectTimeout.CancelAfter(settings.ConnectTimeout);
                await socket.ConnectAsync(new IPEndPoint(address, settings.SmtpPort), connectTimeout.Token).ConfigureAwait(false);
            }

            await client.ConnectAsync(socket, policy.ServerName ?? host, settings.SmtpPort, SecureSocketOptions.StartTlsWhenAvailable, cancellationToken)
                .ConfigureAwait(false);
            offered = client.Capabilities.HasFlag(SmtpCapabilities.StartTLS) || client.IsSecure;
        }
        catch (SslHandshakeException e)
        {
            offered = true;
            error = $"TLS handshake failed: {e.InnerException?.Message ?? e.Message}";
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or SmtpCommandException or TimeoutException
                                      || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            error = e is OperationCanceledException ? $"connect timed out after {settings.ConnectTimeout.TotalSeconds:0}s" : e.Message;
        }

        var tlsVersion = client.IsSecure ? client.SslProtocol.ToString() : null;
        var cipher = client.IsSecure ? client.SslCipherSuite?.ToString() : null;
        if (client.IsConnected)
        {
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            socket.Dispose();
        }

        CertificateVerdictPosture? pkix = null, daneVerdict = null, stsVerdict = null;
        CertificateVerdict? applied = null;
        if (leaf is not null)
        {
            var context = new CertificateContext(leaf, peer, errors, host);
            pkix = Posture(_pkix.Check(context));
            daneVerdict = dane is null ? null : Posture(dane.Check(context));
            if (stsPolicy is { Mode: not MtaStsMode.None })
            {
                // RFC 8461 §4: the MX must match the policy and present a PKIX-valid certificate naming it.
                stsVerdict = stsPolicy.Matches(host)
                    ? pkix
                    : new CertificateVerdictPosture(false, TlsRptResultType.ValidationFailure.ToWire(), $"{host} is not in the policy's mx patterns", null);
            }

            applied = policy.Check.Check(context);
        }

        var chain = peer.Select(c => new CertificatePosture(
            c.Subject, c.Issuer, new DateTimeOffset(c.NotBefore.ToUniversalTime()), new DateTimeOffset(c.NotAfter.ToUniversalTime()),
            c.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256))).ToList();
        foreach (var certificate in peer)
        {
            certificate.Dispose();
        }

        return new SmtpProbe(text, error, offered, tlsVersion, cipher, chain, pkix, daneVerdict, stsVerdict,
            Decide(policy, error, offered, tlsVersion is not null, applied));
    }

    // The same decision SmtpSender makes from the policy: refused host, STARTTLS requirement, certificate check.
    private static ProbeDelivery Decide(MxTlsPolicy policy, string? error, bool? offered, bool secure, CertificateVerdict? verdict)
    {
        if (policy.Refusal is { } refusal)
        {
            return new ProbeDelivery(false, $"host refused by the policy: {refusal.Reason}");
        }

        if (policy.Tls == TlsRequirement.Disabled)
        {
            return error is null && offered is not null
                ? new ProbeDelivery(true, "plaintext: STARTTLS is disabled by the settings")
                : new ProbeDelivery(false, error ?? "no SMTP session");
        }

        if (verdict is not null && !verdict.Accept)
        {
            return new ProbeDelivery(false, $"certificate refused under {policy.Applied}: {verdict.Reason}");
        }

        if (error is not null)
        {
            return new ProbeDelivery(false, error);
        }

        if (!secure)
        {
            return policy.Tls == TlsRequirement.Required
                ? new ProbeDelivery(false, $"STARTTLS {(offered == true ? "failed" : "not offered")} and the policy ({policy.Applied}) requires it")
                : new ProbeDelivery(true, "plaintext: STARTTLS not offered and the policy lets it be (opportunistic)");
        }

        return verdict is { Verified: true }
            ? new ProbeDelivery(true, $"TLS, certificate authenticated under {policy.Applied}{(verdict.MatchedRecord is null ? "" : $" (TLSA {verdict.MatchedRecord})")}")
            : new ProbeDelivery(true, $"TLS, encrypted only: certificate not authenticated ({verdict?.Reason ?? "not checked"}), accepted under {policy.Applied}");
    }

    private static DeliveryVerdict Verdict(List<MxHostPosture> hosts)
    {
        foreach (var host in hosts)
        {
            if (host.Probes.FirstOrDefault(p => p.Delivery.WouldSend) is { } probe)
            {
                return new DeliveryVerdict(true, host.Host, probe.Address, host.Policy!.Applied,
                    $"{host.Host}[{probe.Address}] under policy {host.Policy.Applied} ({host.Policy.Detail}): {probe.Delivery.Why}");
            }
        }

        var reasons = hosts.Select(h => h.Policy is null
            ? $"{h.Host}: address lookup {h.AddressLookup}"
            : h.Probes.Count == 0
                ? $"{h.Host}: no address"
                : $"{h.Host}: {string.Join("; ", h.Probes.Select(p => $"[{p.Address}] {p.Delivery.Why}"))}");
        return new DeliveryVerdict(false, null, null, null, $"deferred: no MX host would take the message: {string.Join(" | ", reasons)}");
    }

    private async Task<(StsPosture Posture, MtaStsPolicy? Policy)> StsAsync(string domain, CancellationToken cancellationToken)
    {
        var lookup = await stsDiscovery.LookupAsync(domain, cancellationToken).ConfigureAwait(false);
        var record = lookup.Status switch
        {
            MtaStsLookupStatus.Found => "found",
            MtaStsLookupStatus.NoRecord => "none",
            MtaStsLookupStatus.MultipleRecords => "multiple",
            MtaStsLookupStatus.DnsError => "dns-error",
            _ => "syntax",
        };
        if (lookup.Status != MtaStsLookupStatus.Found)
        {
            return (new StsPosture(record, null, lookup.Error, null, [], null, null), null);
        }

        var fetch = await stsFetcher.FetchAsync(domain, cancellationToken).ConfigureAwait(false);
        var policy = fetch.Policy;
        return (new StsPosture(
            record, lookup.Record!.Id, null, policy?.Mode.ToWire(), [.. (policy?.MxPatterns ?? []).Select(p => p.ToString())], policy?.MaxAgeSeconds,
            fetch.Failure is { } failure ? $"{failure.ToWire()}: {fetch.Error}" : null), policy);
    }

    private async Task<TlsRptPosture> TlsRptAsync(string domain, CancellationToken cancellationToken)
    {
        var answer = await dns.QueryTxtAsync(TlsRptRecordLookup.NameFor(domain), cancellationToken).ConfigureAwait(false);
        var lookup = answer.Status switch
        {
            DnsStatus.Found => TlsRptRecordLookup.FromTxt(answer.Records),
            DnsStatus.NoRecords or DnsStatus.NotFound => new TlsRptRecordLookup(TlsRptLookupStatus.NoRecord, null, "no TXT record"),
            _ => new TlsRptRecordLookup(TlsRptLookupStatus.DnsError, null, $"{answer.Status} {answer.Error}"),
        };
        var status = lookup.Status switch
        {
            TlsRptLookupStatus.Found => "found",
            TlsRptLookupStatus.NoRecord => "none",
            TlsRptLookupStatus.MultipleRecords => "multiple",
            TlsRptLookupStatus.DnsError => "dns-error",
            _ => "syntax",
        };
        return new TlsRptPosture(status, [.. (lookup.Record?.ReportingUris ?? []).Select(u => u.OriginalString)], lookup.Error);
    }

    private static CertificateVerdictPosture Posture(CertificateVerdict verdict) =>
        new(verdict.Verified, verdict.Failure?.ToWire(), verdict.Reason, verdict.MatchedRecord);

    private static string Word(TlsaLookupStatus status) => status switch
    {
        TlsaLookupStatus.Insecure => "insecure",
        TlsaLookupStatus.NoRecords => "no-records",
        TlsaLookupStatus.Usable => "usable",
        TlsaLookupStatus.Unusable => "unusable",
        _ => "failed",
    };

    private static string Word(TlsRequirement tls) => tls switch
    {
        TlsRequirement.Required => "required",
        TlsRequirement.Disabled => "disabled",
        _ => "opportunistic",
    };
}
