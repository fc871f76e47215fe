using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Dns;

/// <summary>
/// <see cref="IDnsResolver"/> that validates DNSSEC itself (ARSoft.Tools.Net), for platforms whose resolver
/// passes DNSSEC records through but does not validate (<c>Dns:Dnssec = in-process</c>).
/// </summary>
/// <remarks>
/// Every lookup (MX, A/AAAA with the CNAMEs leading to them, TLSA, TXT) is validated from the root trust
/// anchors of <c>Dns:TrustAnchors</c> (built in: the root KSK-2017 and KSK-2024), like a validating resolver
/// would: Signed answers are authenticated and only their validated records are used; a bogus answer is
/// reported as <see cref="DnsStatus.ServFail"/> (RFC 4035 §5.5), so a forged MX of a signed domain is never
/// followed. A validation query that fails (SERVFAIL, no answer) makes the lookup fail temporarily. The
/// DnsClient lookup alongside keeps NXDOMAIN, NODATA and failures apart. The configured resolver must return
/// RRSIG, DNSKEY and DS records when asked with DO.
/// </remarks>
public sealed class InProcessDnssecResolver : IDnsResolver, IDisposable
{
    /// <summary>The root's DS records as IANA publishes them (root-anchors.xml): KSK-2017 and KSK-2024.</summary>
    public const string BuiltInRootAnchors =
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n" +
        ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n";

    private readonly DnsClientResolver _plain;
    private readonly SelfValidatingInternalDnsSecStubResolver _validator;

    /// <summary>Creates the resolver from settings.</summary>
    /// <exception cref="SettingsException">The servers use different ports, or the trust anchors do not parse.</exception>
    public InProcessDnssecResolver(DnsSettings settings)
    {
        _plain = new DnsClientResolver(settings);
        var servers = settings.Servers.Count > 0
            ? settings.Servers
            : ARSoft.Tools.Net.Dns.DnsClient.GetLocalConfiguredDnsServers().Select(a => new IPEndPoint(a, 53)).ToList();
        var port = servers.Select(s => s.Port).Distinct().ToList();
        if (port.Count > 1)
        {
            throw new SettingsException(SettingKeys.DnsServers, "with Dns:Dnssec = in-process all servers must use the same port");
        }

        var anchors = ParseAnchors(settings.TrustAnchorsFile is null ? BuiltInRootAnchors : File.ReadAllText(settings.TrustAnchorsFile));
        var client = new ARSoft.Tools.Net.Dns.DnsClient(
            servers.Select(s => s.Address),
            [new UdpClientTransport(port.Single()), new TcpClientTransport(port.Single())],
            true,
            (int)Math.Min(int.MaxValue, settings.Timeout.TotalMilliseconds));
        _validator = new SelfValidatingInternalDnsSecStubResolver(client, new Anchors(servers.Select(s => s.Address).ToList(), anchors));
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<MxRecord>> QueryMxAsync(string domain, CancellationToken cancellationToken)
    {
        var plain = await _plain.QueryMxAsync(domain, cancellationToken).ConfigureAwait(false);
        if (!plain.Status.IsDefinite())
        {
            return plain;
        }

        // RFC 4035 §5.5: a bogus MX RRset is not used: with it, a forged MX would bypass DANE altogether.
        var secure = await ValidateAsync<ARSoft.Tools.Net.Dns.MxRecord>(domain, RecordType.Mx, cancellationToken).ConfigureAwait(false);
        if (secure.Error is { } error)
        {
            return DnsAnswer<MxRecord>.Failed(DnsStatus.ServFail, domain, error);
        }

        return secure.Signed
            ? plain with
            {
                Records = secure.Records.Select(m => new MxRecord(m.Preference, m.ExchangeDomainName.ToString().TrimEnd('.').ToLowerInvariant())).ToList(),
                Status = secure.Records.Count > 0 ? DnsStatus.Found : plain.Status == DnsStatus.Found ? DnsStatus.NoRecords : plain.Status,
                Authenticated = true,
            }
            : plain with { Authenticated = false };
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<IPAddress>> QueryAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var plain = await _plain.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (!plain.Status.IsDefinite())
        {
            return plain;
        }

        var v4 = await ValidateAsync<ARecord>(host, RecordType.A, cancellationToken).ConfigureAwait(false);
        var v6 = await ValidateAsync<AaaaRecord>(host, RecordType.Aaaa, cancellationToken).ConfigureAwait(false);
        if ((v4.Error ?? v6.Error) is { } error)
        {
            // One family failed: the other family's plain addresses still serve, as an insecure host (DANE needs
            // both lookups secure); the failed family's addresses are not used.
            var family = v4.Error is null ? System.Net.Sockets.AddressFamily.InterNetwork : System.Net.Sockets.AddressFamily.InterNetworkV6;
            var usable = v4.Error is not null && v6.Error is not null ? [] : plain.Records.Where(a => a.AddressFamily == family).ToList();
            return usable.Count > 0
                ? plain with { Records = usable, Authenticated = false }
                : DnsAnswer<IPAddress>.Failed(DnsStatus.ServFail, host, error);
        }

        if (!(v4.Signed && v6.Signed))
        {
            return plain with { Authenticated = false };
        }

        // RFC 7672 §2.2.2: the TLSA base domain is the CNAME-expanded name. ARSoft validated every CNAME it
        // followed (Signed only when all links are), and the validated records are owned by the expanded name:
        // the name is taken from them, never from the unvalidated answer.
        var owner = v4.Records.Select(r => r.Name).Concat(v6.Records.Select(r => r.Name)).FirstOrDefault();
        return plain with
        {
            Records = [.. v4.Records.Select(r => r.Address), .. v6.Records.Select(r => r.Address)],
            Authenticated = true,
            CanonicalName = owner is null ? plain.CanonicalName : owner.ToString().TrimEnd('.').ToLowerInvariant(),
        };
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<string>> QueryTxtAsync(string name, CancellationToken cancellationToken)
    {
        var plain = await _plain.QueryTxtAsync(name, cancellationToken).ConfigureAwait(false);
        if (!plain.Status.IsDefinite())
        {
            return plain;
        }

        var secure = await ValidateAsync<TxtRecord>(name, RecordType.Txt, cancellationToken).ConfigureAwait(false);
        return secure.Error is { } error ? DnsAnswer<string>.Failed(DnsStatus.ServFail, name, error)
            : secure.Signed ? plain with { Records = secure.Records.Select(t => string.Concat(t.TextParts)).ToList(), Authenticated = true }
            : plain with { Authenticated = false };
    }

    /// <inheritdoc />
    public async Task<DnsAnswer<TlsaRecordData>> QueryTlsaAsync(string name, CancellationToken cancellationToken)
    {
        var plain = await _plain.QueryTlsaAsync(name, cancellationToken).ConfigureAwait(false);
        if (!plain.Status.IsDefinite())
        {
            return plain;
        }

        var secure = await ValidateAsync<TlsaRecord>(name, RecordType.Tlsa, cancellationToken).ConfigureAwait(false);
        if (secure.Error is { } error)
        {
            return DnsAnswer<TlsaRecordData>.Failed(DnsStatus.ServFail, name, error);
        }

        // Only the validated records are used for a secure answer, never the unvalidated copy.
        return secure.Signed
            ? plain with
            {
                Records = secure.Records.Select(t => new TlsaRecordData((byte)t.CertificateUsage, (byte)t.Selector, (byte)t.MatchingType, t.CertificateAssociationData)).ToList(),
                Status = secure.Records.Count > 0 ? DnsStatus.Found : plain.Status == DnsStatus.Found ? DnsStatus.NoRecords : plain.Status,
                Authenticated = true,
            }
            : plain with { Authenticated = false };
    }

    /// <summary>Parses DS records in presentation form (<c>. IN DS tag alg digest-type hex</c>), one a line; # starts a comment.</summary>
    /// <exception cref="SettingsException">A line is not a root DS record.</exception>
    public static IReadOnlyList<DsRecord> ParseAnchors(string text)
    {
        var anchors = new List<DsRecord>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != 7 || f[0] != "." || !f[1].Equals("IN", StringComparison.OrdinalIgnoreCase) || !f[2].Equals("DS", StringComparison.OrdinalIgnoreCase)
                || !ushort.TryParse(f[3], out var tag) || !byte.TryParse(f[4], out var algorithm) || !byte.TryParse(f[5], out var digestType))
            {
                throw new SettingsException(SettingKeys.DnsTrustAnchors, $"'{line}' is not a root DS record such as '{BuiltInRootAnchors.Split('\n')[1]}'");
            }

            byte[] digest;
            try
            {
                digest = Convert.FromHexString(f[6]);
            }
            catch (FormatException)
            {
                throw new SettingsException(SettingKeys.DnsTrustAnchors, $"'{line}': digest is not hex");
            }

            anchors.Add(new DsRecord(DomainName.Root, RecordClass.INet, 0, tag, (DnsSecAlgorithm)algorithm, (DnsSecDigestType)digestType, digest));
        }

        return anchors.Count > 0 ? anchors : throw new SettingsException(SettingKeys.DnsTrustAnchors, "no DS record found");
    }

    /// <inheritdoc />
    public void Dispose() => ((IDisposable)_validator).Dispose();

    private async Task<(bool Signed, List<T> Records, string? Error)> ValidateAsync<T>(string name, RecordType type, CancellationToken cancellationToken)
        where T : DnsRecordBase
    {
        try
        {
            var result = await _validator.ResolveSecureAsync<T>(DomainName.Parse(DnsClientResolver.ToAscii(name) is { Length: > 0 } n ? n : "."), type, RecordClass.INet, cancellationToken)
                .ConfigureAwait(false);
            return result.ValidationResult switch
            {
                DnsSecValidationResult.Signed => (true, result.Records, null),
                DnsSecValidationResult.Bogus => (false, [], $"{type} {name}: DNSSEC validation failed (bogus, dnssec-invalid)"),
                _ => (false, result.Records, null),
            };
        }
        catch (DnsSecValidationException e)
        {
            // RFC 4035 §5.5: bogus data is not returned; a validating resolver answers SERVFAIL.
            return (false, [], $"{type} {name}: DNSSEC validation failed (bogus, dnssec-invalid): {e.Message}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // ARSoft reports a validation query that got SERVFAIL or no answer as a plain Exception ("DNS request
            // failed"): the lookup failed for now, and the delivery defers on its schedule (RFC 7672 §2.1.1).
            return (false, [], $"{type} {name}: in-process DNSSEC validation failed ({e.GetType().Name}): {e.Message}");
        }
    }

    private sealed class Anchors(IReadOnlyList<IPAddress> servers, IReadOnlyList<DsRecord> keys) : IResolverHintStore
    {
        public IReadOnlyList<IPAddress> RootServers => servers;

        public IReadOnlyList<DsRecord> RootKeys => keys;
    }
}
