using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using DnsClient;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Tests.Infrastructure;
using static MtaFunctions.Tests.Policy.Dane.DaneTestCertificates;
using RecordType = ARSoft.Tools.Net.Dns.RecordType;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>One destination of the lab: its MX host, the address its test SMTP server listens on, and what it presents.</summary>
/// <param name="Domain">Recipient domain.</param>
/// <param name="MxHost">MX host name (as the MX record names it).</param>
/// <param name="Address">The MX host's address (unique per scenario, on loopback).</param>
/// <param name="Leaf">Server certificate; null for a server without STARTTLS.</param>
/// <param name="Chain">Certificates sent after the leaf.</param>
public sealed record DaneScenario(string Domain, string MxHost, IPAddress Address, X509Certificate2? Leaf, IReadOnlyList<X509Certificate2> Chain);

/// <summary>
/// Real DNSSEC on loopback, started once per test class: a zone <c>test.</c> signed by the test (ldns-signzone),
/// served by NSD, and Unbound validating it with the test's trust anchor. Unsigned child zones stand for
/// insecure destinations; a tampered signature stands for bogus data; an ARSoft server answering SERVFAIL
/// stands for broken TLSA name servers.
/// </summary>
/// <remarks>
/// Needs the Debian packages nsd, unbound and ldnsutils (tests/apt-packages.txt). Unbound options that make it
/// work on loopback: do-not-query-localhost no, local-zone "test." nodefault, module-config "validator iterator".
/// </remarks>
public sealed partial class DnssecLab : IAsyncLifetime
{
    private readonly List<Process> _processes = [];
    private readonly string _dir = Directory.CreateTempSubdirectory("dnssec-lab").FullName;
    private readonly Dictionary<string, DaneScenario> _scenarios = new(StringComparer.OrdinalIgnoreCase);
    private readonly StringBuilder _signed = new();
    private readonly StringBuilder _unsigned = new();
    private readonly StringBuilder _insecureA = new();
    private readonly List<DaneScenario> _extra = [];
    private int _nextHost = 1;

    /// <summary>
    /// A loopback address where Unbound also answers on port 53, for peers that read /etc/resolv.conf (Postfix in
    /// a mount namespace, see <see cref="PostfixInstance"/>); null = none.
    /// </summary>
    public IPAddress? Port53Address { get; init; }

    /// <summary>The validating resolver (put it in Dns:Servers and Dns:TrustedValidators).</summary>
    public IPEndPoint Resolver { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>NSD, authoritative for the signed root ".", "test." and the unsigned zones (upstream of in-process validation).</summary>
    public IPEndPoint Authoritative { get; private set; } = new(IPAddress.Loopback, 0);

    /// <summary>The lab root's DS record, as a Dns:TrustAnchors file.</summary>
    public string RootAnchorsFile => Path.Combine(_dir, "root-anchors.txt");

    /// <summary>A name server answering SERVFAIL for the TLSA names delegated to it; counts the queries it got.</summary>
    public TestDnsServer Broken { get; } = new();

    /// <summary>The web PKI of the lab: its root goes in Queue:Outbound:Tls:ExtraRootCas.</summary>
    public TestCertificateAuthority Pki { get; } = new("DANE Lab PKIX Root");

    /// <summary>The private CA of DANE-TA scenarios (not trusted by PKIX).</summary>
    public X509Certificate2 DaneRoot { get; } = Ca("DANE Lab TA Root");

    /// <summary>The intermediate DANE-TA records name.</summary>
    public X509Certificate2 DaneIntermediate { get; private set; } = null!;

    /// <summary>The SMTP port every scenario server listens on (each on its own loopback address).</summary>
    public int SmtpPort { get; } = FreePort.Next();

    /// <summary>A scenario by recipient domain.</summary>
    public DaneScenario this[string domain] => _scenarios[domain];

    /// <summary>The trust anchor's key tag and the zone file lines, for diagnostics.</summary>
    public string ZoneDirectory => _dir;

    [GeneratedRegex(@"^(_25\._tcp\.mx\.bogus\.test\.\s+\d+\s+IN\s+TLSA\s+3 1 1 [0-9a-fA-F]+)([0-9a-fA-F]{2})$", RegexOptions.Multiline)]
    private static partial Regex BogusTlsaLine();

    [GeneratedRegex(@"^(forgedmx\.test\.\s+\d+\s+IN\s+MX\s+10\s+)mx\.forgedmx\.test\.$", RegexOptions.Multiline)]
    private static partial Regex ForgedMxLine();

    /// <summary>Storage for the delivery (the MTA-STS cache table is read for every destination).</summary>
    public AzuriteFixture Storage { get; } = new();

    public async ValueTask InitializeAsync()
    {
        await Storage.InitializeAsync();
        await new Azure.Data.Tables.TableServiceClient(Storage.ConnectionString).CreateTableIfNotExistsAsync(MtaFunctions.Client.Contract.StorageNames.StsPoliciesTable);
        DaneIntermediate = Ca("DANE Lab TA Intermediate", DaneRoot);
        BuildScenarios();
        foreach (var name in new[] { "_25._tcp.mx.insecure-a.test", "_25._tcp.mx.servfail-tlsa.test" })
        {
            foreach (var type in new[] { RecordType.Tlsa, RecordType.Ds, RecordType.Ns, RecordType.Soa, RecordType.DnsKey, RecordType.A })
            {
                Broken.Fail(name, type);
            }
        }

        var nsdPort = FreePort.Next();
        await WriteZonesAsync();
        var nsdConf = Path.Combine(_dir, "nsd.conf");
        await File.WriteAllTextAsync(nsdConf, $"""
            server:
              ip-address: 127.0.0.1@{nsdPort}
              port: {nsdPort}
              username: ""
              chroot: ""
              zonesdir: "{_dir}"
              database: ""
              pidfile: "{_dir}/nsd.pid"
              xfrdfile: "{_dir}/xfrd.state"
              zonelistfile: "{_dir}/zone.list"
              xfrdir: "{_dir}"
              logfile: "{_dir}/nsd.log"
              server-count: 1
              do-ip6: no
            remote-control:
              control-enable: no
            zone:
              name: "."
              zonefile: "root.zone.signed"
            zone:
              name: "test."
              zonefile: "test.zone.signed"
            zone:
              name: "unsigned.test."
              zonefile: "unsigned.zone"
            zone:
              name: "insecure-a.test."
              zonefile: "insecure-a.zone"

            """);
        Start("nsd", "-d", "-c", nsdConf);
        Authoritative = new IPEndPoint(IPAddress.Loopback, nsdPort);

        var unboundPort = FreePort.Next();
        var unboundConf = Path.Combine(_dir, "unbound.conf");
        await File.WriteAllTextAsync(unboundConf, $"""
            server:
              interface: 127.0.0.1
              port: {unboundPort}
            {(Port53Address is null ? "" : $"  interface: {Port53Address}@53\n")}
              do-ip6: no
              do-not-query-localhost: no
              username: ""
              chroot: ""
              directory: "{_dir}"
              pidfile: "{_dir}/unbound.pid"
              use-syslog: no
              logfile: ""
              verbosity: 0
              num-threads: 1
              module-config: "validator iterator"
              local-zone: "test." nodefault
              access-control: 127.0.0.0/8 allow
              trust-anchor-file: "{_dir}/test.ds"
              qname-minimisation: no
            stub-zone:
              name: "test."
              stub-addr: 127.0.0.1@{nsdPort}
            stub-zone:
              name: "unsigned.test."
              stub-addr: 127.0.0.1@{nsdPort}
            stub-zone:
              name: "insecure-a.test."
              stub-addr: 127.0.0.1@{nsdPort}
            stub-zone:
              name: "_25._tcp.mx.insecure-a.test."
              stub-addr: {Broken.EndPoint.Address}@{Broken.EndPoint.Port}
            stub-zone:
              name: "_25._tcp.mx.servfail-tlsa.test."
              stub-addr: {Broken.EndPoint.Address}@{Broken.EndPoint.Port}

            """);
        Start("unbound", "-d", "-c", unboundConf);
        Resolver = new IPEndPoint(IPAddress.Loopback, unboundPort);
        await WaitUntilValidatingAsync();
    }

    /// <summary>
    /// Before <see cref="InitializeAsync"/>: publishes <paramref name="domain"/> (under test.) with MX
    /// mx.<paramref name="domain"/> at <paramref name="address"/> and a DANE-EE 3 1 1 record of
    /// <paramref name="leaf"/>, for a server the caller runs (a Postfix MX, a benchmark sink).
    /// </summary>
    public DaneScenario AddDaneEe(string domain, IPAddress address, X509Certificate2 leaf)
    {
        var scenario = new DaneScenario(domain, $"mx.{domain}", address, leaf, []);
        _extra.Add(scenario);
        return scenario;
    }

    private void BuildScenarios()
    {
        foreach (var extra in _extra)
        {
            _scenarios[extra.Domain] = extra;
            _signed.AppendLine($"{extra.Domain[..^".test".Length]} IN MX 10 {extra.MxHost}.");
            _signed.AppendLine($"{extra.MxHost[..^".test".Length]} IN A {extra.Address}");
            Publish(_signed, extra.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, extra.Leaf!));
        }

        // DANE-EE: self-signed leaves (PKIX would refuse them), published as 3 s m.
        Ee("ee311.test", TlsaSelector.Spki, TlsaMatchingType.Sha256);
        Ee("ee301.test", TlsaSelector.Cert, TlsaMatchingType.Sha256);
        Ee("ee312.test", TlsaSelector.Spki, TlsaMatchingType.Sha512);

        // DANE-TA: a leaf of the private intermediate, sent with the intermediate.
        foreach (var (domain, selector) in new[] { ("ta201.test", TlsaSelector.Cert), ("ta211.test", TlsaSelector.Spki) })
        {
            var s = Add(domain, Leaf(DaneIntermediate, [$"mx.{domain}"]), [DaneIntermediate]);
            Publish(_signed, s.MxHost, Tlsa(TlsaUsage.DaneTa, selector, TlsaMatchingType.Sha256, DaneIntermediate));
        }

        // RFC 7671 §5.2: the server is given the anchor (2 0 1 of an intermediate) and, above it, an expired CA:
        // only the path from the leaf to the anchor counts. Which of them SslStream puts on the wire is .NET's
        // choice; DaneCertificateCheckTests.Check_DaneTaExpiredRootAboveAnchor_Trusted pins the rule itself.
        var expiredCa = Ca("DANE Lab Expired CA", DaneRoot, notBefore: DateTimeOffset.UtcNow.AddYears(-3), notAfter: DateTimeOffset.UtcNow.AddDays(-1));
        var belowExpired = Ca("DANE Lab TA Below Expired CA", expiredCa);
        var aboveAnchor = Add("taexpiredroot.test", Leaf(belowExpired, ["mx.taexpiredroot.test"]), [belowExpired, expiredCa]);
        Publish(_signed, aboveAnchor.MxHost, Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, belowExpired));

        // RFC 7671 §5.2.2-§5.2.3: full anchors in DNS (2 0 0 certificate, 2 1 0 bare key); the server sends only its leaf.
        foreach (var (domain, selector) in new[] { ("ta200.test", TlsaSelector.Cert), ("ta210.test", TlsaSelector.Spki) })
        {
            var s = Add(domain, Leaf(DaneIntermediate, [$"mx.{domain}"]), []);
            Publish(_signed, s.MxHost, Tlsa(TlsaUsage.DaneTa, selector, TlsaMatchingType.Full, DaneIntermediate));
        }

        // A PKIX-valid server whose TLSA names another key: DANE must refuse it, PKIX must not step in.
        var mismatch = Add("mismatch.test", Pki.IssueServer(["mx.mismatch.test"]), []);
        Publish(_signed, mismatch.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, Leaf(null, ["other.test"])));

        // Only unusable records: PKIX-EE, and a DANE-EE record with a truncated digest.
        var unusable = Add("unusable.test", Leaf(null, ["mx.unusable.test"]), []);
        Publish(_signed, unusable.MxHost, Tlsa(TlsaUsage.PkixEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, unusable.Leaf!));
        Publish(_signed, unusable.MxHost, new TlsaRecord(3, 1, 1, Data(TlsaSelector.Spki, TlsaMatchingType.Sha256, unusable.Leaf!)[..20]));

        var expired = Add("expired.test", Leaf(null, ["mx.expired.test"], notBefore: DateTimeOffset.UtcNow.AddYears(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-10)), []);
        Publish(_signed, expired.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, expired.Leaf!));

        var plain = Add("nostarttls.test", null, []);
        Publish(_signed, plain.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, Leaf(null, ["mx.nostarttls.test"])));

        // RFC 7671 §9: 3 1 1 matches, 3 1 2 (stronger) names another key.
        var agility = Add("agility.test", Leaf(null, ["mx.agility.test"]), []);
        Publish(_signed, agility.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, agility.Leaf!));
        Publish(_signed, agility.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha512, Leaf(null, ["other.test"])));

        // DANE and MTA-STS on one domain (RFC 8461 §2): an enforce policy that does not list the MX, whose
        // certificate is self-signed (PKIX would refuse it too); the policy host is the test's HTTPS server.
        var stsDane = Add("stsdane.test", Leaf(null, ["mx.stsdane.test"]), []);
        Publish(_signed, stsDane.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, stsDane.Leaf!));
        _signed.AppendLine("_mta-sts.stsdane IN TXT \"v=STSv1; id=20261128\"");
        _signed.AppendLine("mta-sts.stsdane IN A 127.0.0.1");

        // Only an unusable TLSA record (PKIX-EE) and an enforced MTA-STS policy naming the MX; the certificate is
        // self-signed, so only "TLS without authentication" would take it.
        var stsUnusable = Add("stsunusable.test", Leaf(null, ["mx.stsunusable.test"]), []);
        Publish(_signed, stsUnusable.MxHost, Tlsa(TlsaUsage.PkixEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, stsUnusable.Leaf!));
        _signed.AppendLine("_mta-sts.stsunusable IN TXT \"v=STSv1; id=20261130\"");
        _signed.AppendLine("mta-sts.stsunusable IN A 127.0.0.1");

        // Signed, no TLSA, PKIX-valid.
        Add("nodane.test", Pki.IssueServer(["mx.nodane.test"]), []);

        // Bogus: the TLSA RRset's signature is broken after signing (see WriteZonesAsync).
        var bogus = Add("bogus.test", Pki.IssueServer(["mx.bogus.test"]), []);
        Publish(_signed, bogus.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, bogus.Leaf!));

        // Secure host, TLSA name served by a broken server (SERVFAIL).
        // The delegation keeps Unbound from proving the name absent from the parent's NSEC chain (aggressive NSEC).
        Add("servfail-tlsa.test", Pki.IssueServer(["mx.servfail-tlsa.test"]), []);
        _signed.AppendLine("_25._tcp.mx.servfail-tlsa IN NS ns.test.");

        // First MX unusable now (SERVFAIL TLSA), second one a good DANE-EE host.
        _signed.AppendLine("twomx IN MX 10 mx.servfail-tlsa.test.");
        _signed.AppendLine("twomx IN MX 20 mx.ee311.test.");

        // RFC 7672 §2.2.2: MX host is a CNAME; TLSA at the expanded name.
        var cnameTarget = NextAddress();
        var cnameLeaf = Leaf(null, ["host.cname-target.test"]);
        _scenarios["cname.test"] = new DaneScenario("cname.test", "mx.cname.test", cnameTarget, cnameLeaf, []);
        _signed.AppendLine("cname IN MX 10 mx.cname.test.");
        _signed.AppendLine("mx.cname IN CNAME host.cname-target.test.");
        _signed.AppendLine($"host.cname-target IN A {cnameTarget}");
        Publish(_signed, "host.cname-target.test", Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, cnameLeaf));

        // Two recipient domains on one MX under DANE-TA (2 0 1 of the intermediate); the certificate names only
        // the first domain, not the MX host (RFC 7672 §3.2.2 lets the recipient domain be the reference identifier).
        var sharedAddress = NextAddress();
        var sharedLeaf = Leaf(DaneIntermediate, ["tashared-a.test"]);
        foreach (var domain in new[] { "tashared-a.test", "tashared-b.test" })
        {
            _scenarios[domain] = new DaneScenario(domain, "mx.tashared.test", sharedAddress, sharedLeaf, [DaneIntermediate]);
            _signed.AppendLine($"{domain[..^".test".Length]} IN MX 10 mx.tashared.test.");
        }

        _signed.AppendLine($"mx.tashared IN A {sharedAddress}");
        Publish(_signed, "mx.tashared.test", Tlsa(TlsaUsage.DaneTa, TlsaSelector.Cert, TlsaMatchingType.Sha256, DaneIntermediate));

        // A signed MX RRset rewritten after signing (see WriteZonesAsync) to point at mx.nodane.test, a PKIX-valid
        // host without TLSA: a forged MX that would take DANE out of the picture.
        var forged = Add("forgedmx.test", Leaf(null, ["mx.forgedmx.test"]), []);
        Publish(_signed, forged.MxHost, Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, forged.Leaf!));

        // Unsigned zone with TLSA that would not match: no DANE.
        var unsignedAddress = NextAddress();
        _scenarios["unsigned.test"] = new DaneScenario("unsigned.test", "mx.unsigned.test", unsignedAddress, Pki.IssueServer(["mx.unsigned.test"]), []);
        _unsigned.AppendLine("@ IN MX 10 mx.unsigned.test.");
        _unsigned.AppendLine($"mx IN A {unsignedAddress}");
        Publish(_unsigned, "mx.unsigned.test", Tlsa(TlsaUsage.DaneEe, TlsaSelector.Spki, TlsaMatchingType.Sha256, Leaf(null, ["other.test"])));

        // Unsigned zone whose TLSA name server is broken: the TLSA lookup must not even be made.
        var insecureAddress = NextAddress();
        _scenarios["insecure-a.test"] = new DaneScenario("insecure-a.test", "mx.insecure-a.test", insecureAddress, Pki.IssueServer(["mx.insecure-a.test"]), []);
        _insecureA.AppendLine("@ IN MX 10 mx.insecure-a.test.");
        _insecureA.AppendLine($"mx IN A {insecureAddress}");
    }

    private void Ee(string domain, TlsaSelector selector, TlsaMatchingType matching)
    {
        var s = Add(domain, Leaf(null, [$"mx.{domain}"]), []);
        Publish(_signed, s.MxHost, Tlsa(TlsaUsage.DaneEe, selector, matching, s.Leaf!));
    }

    private DaneScenario Add(string domain, X509Certificate2? leaf, IReadOnlyList<X509Certificate2> chain)
    {
        var label = domain[..^".test".Length];
        var scenario = new DaneScenario(domain, $"mx.{domain}", NextAddress(), leaf, chain);
        _scenarios[domain] = scenario;
        _signed.AppendLine($"{label} IN MX 10 mx.{domain}.");
        _signed.AppendLine($"mx.{label} IN A {scenario.Address}");
        return scenario;
    }

    private IPAddress NextAddress() => IPAddress.Parse($"127.0.1.{_nextHost++}");

    private static void Publish(StringBuilder zone, string host, TlsaRecord record) =>
        zone.AppendLine($"_25._tcp.{host}. IN TLSA {record.Usage} {record.Selector} {record.MatchingType} {Convert.ToHexString(record.Data)}");

    private async Task WriteZonesAsync()
    {
        const string Soa = "@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n@ IN NS ns.test.\n";
        await File.WriteAllTextAsync(Path.Combine(_dir, "test.zone"),
            $"$ORIGIN test.\n$TTL 300\n{Soa}ns IN A 127.0.0.1\nunsigned IN NS ns.test.\ninsecure-a IN NS ns.test.\n{_signed}");
        await File.WriteAllTextAsync(Path.Combine(_dir, "unsigned.zone"), $"$ORIGIN unsigned.test.\n$TTL 300\n{Soa}{_unsigned}");
        await File.WriteAllTextAsync(Path.Combine(_dir, "insecure-a.zone"), $"$ORIGIN insecure-a.test.\n$TTL 300\n{Soa}{_insecureA}");

        var key = (await RunAsync("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "test")).Trim();
        await RunAsync("ldns-signzone", "-o", "test.", "test.zone", key);
        File.Copy(Path.Combine(_dir, key + ".ds"), Path.Combine(_dir, "test.ds"));

        // A signed root delegating to test. (with its DS), for in-process validation from a root anchor.
        var testDs = (await File.ReadAllTextAsync(Path.Combine(_dir, "test.ds"))).Trim();
        await File.WriteAllTextAsync(Path.Combine(_dir, "root.zone"),
            $"$ORIGIN .\n$TTL 300\n. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 300\n. IN NS ns.test.\ntest. IN NS ns.test.\n{testDs}\nns.test. IN A 127.0.0.1\n");
        var rootKey = (await RunAsync("ldns-keygen", "-a", "ECDSAP256SHA256", "-k", ".")).Trim();
        await RunAsync("ldns-signzone", "-o", ".", "root.zone", rootKey);
        await File.WriteAllTextAsync(RootAnchorsFile, await File.ReadAllTextAsync(Path.Combine(_dir, rootKey + ".ds")));

        // Break the TLSA signature of bogus.test by changing the signed data's last byte.
        var signedPath = Path.Combine(_dir, "test.zone.signed");
        var signed = await File.ReadAllTextAsync(signedPath);
        var tampered = BogusTlsaLine().Replace(signed, m => m.Groups[1].Value + (m.Groups[2].Value.Equals("00", StringComparison.OrdinalIgnoreCase) ? "01" : "00"));
        if (tampered == signed)
        {
            throw new InvalidOperationException("could not find the TLSA record of mx.bogus.test to tamper with");
        }

        // Forge the MX of forgedmx.test: the RRSIG stays the one made for mx.forgedmx.test.
        var forged = ForgedMxLine().Replace(tampered, m => m.Groups[1].Value + "mx.nodane.test.");
        if (forged == tampered)
        {
            throw new InvalidOperationException("could not find the MX record of forgedmx.test to rewrite");
        }

        await File.WriteAllTextAsync(signedPath, forged);
    }

    private async Task<string> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start");
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {process.ExitCode}: {error}");
    }

    private void Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start (apt-get install nsd unbound ldnsutils)");
        _processes.Add(process);
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
    }

    private async Task WaitUntilValidatingAsync()
    {
        var client = new LookupClient(new LookupClientOptions(new NameServer(Resolver))
        {
            UseCache = false,
            RequestDnsSecRecords = true,
            Timeout = TimeSpan.FromMilliseconds(500),
            Retries = 0,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
        });
        var deadline = DateTime.UtcNow.AddSeconds(15);
        string last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_processes.FirstOrDefault(p => p.HasExited) is { } dead)
            {
                throw new InvalidOperationException($"{dead.StartInfo.FileName} exited with {dead.ExitCode}; see {_dir}");
            }

            try
            {
                var response = await client.QueryAsync("mx.ee311.test", QueryType.A);
                if (response.Header.IsAuthenticData && !response.HasError)
                {
                    return;
                }

                last = $"{response.Header.ResponseCode} AD={response.Header.IsAuthenticData}";
            }
            catch (DnsResponseException e)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"unbound did not validate mx.ee311.test in time ({last}); see {_dir}");
    }

    public ValueTask DisposeAsync()
    {
        _ = Storage.DisposeAsync();
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }

            process.Dispose();
        }

        Broken.Dispose();
        Pki.Dispose();
        return ValueTask.CompletedTask;
    }
}
