using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// <c>Dns:Dnssec = in-process</c>: DNSSEC validated in this process (ARSoft.Tools.Net) from a root trust anchor,
/// asking the lab's authoritative server (a signed root, <c>test.</c> and unsigned zones) instead of a
/// validating resolver.
/// </summary>
[Collection(DnssecLabCollection.Name)]
public sealed class InProcessDnssecTests(DnssecLab lab)
{
    private DnsSettings Settings(string? anchors) => SettingsReader.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Dns:Servers"] = lab.Authoritative.ToString(),
        ["Dns:Dnssec"] = "in-process",
        ["Dns:TrustAnchors"] = anchors,
        ["Dns:Timeout"] = "3s",
        ["Dns:DnssecProbeName"] = "test.",
    }).Build()).Dns;

    private async Task<(RecipientOutcome Outcome, IReadOnlyDictionary<TlsSessionKey, long> Sessions, int Received)> DeliverAsync(
        string domain, string? anchors, string? serverOf = null, System.Net.IPEndPoint? dns = null)
    {
        var scenario = lab[serverOf ?? domain];
        await using var server = new TestSmtpServer(scenario.Address, lab.SmtpPort, scenario.Leaf!, scenario.Chain);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = lab.Storage.ConnectionString,
            ["Dns:Servers"] = (dns ?? lab.Authoritative).ToString(),
            ["Dns:Dnssec"] = "in-process",
            ["Dns:TrustAnchors"] = anchors,
            ["Dns:Timeout"] = "3s",
            ["Queue:Outbound:Smtp:Port"] = lab.SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = lab.Pki.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "sender.example.test",
            ["Report:Tls:Aggregate:Send"] = "daily",
        }).AddInMemoryCollection(Reporting.Outbound.TestDkimKeys.Settings("rsa").Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        await using var services = new ServiceCollection().AddLogging().AddMtaCore(config).BuildServiceProvider();
        Assert.IsType<InProcessDnssecResolver>(Assert.IsType<Core.Telemetry.MeteredDnsResolver>(services.GetRequiredService<IDnsResolver>()).Inner);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@sender.example.test"));
        message.To.Add(MailboxAddress.Parse($"rcpt@{domain}"));
        message.Body = new TextPart("plain") { Text = "hello" };
        var outcomes = await services.GetRequiredService<DomainDeliverer>()
            .DeliverAsync(domain, [$"rcpt@{domain}"], "sender@sender.example.test", message, false, TestContext.Current.CancellationToken);
        return (outcomes.Single(), services.GetRequiredService<TlsSessionCounter>().Peek(), server.Inbox.Count);
    }

    [Fact]
    public async Task Deliver_InProcessDaneEeMatch_DeliveredUnderDane()
    {
        var (outcome, sessions, received) = await DeliverAsync("ee311.test", lab.RootAnchorsFile);
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("dane", outcome.PolicyApplied);
        Assert.Equal(1, received);
        Assert.Contains(sessions.Keys, k => k.Failure is null && k.Policy.Type == TlsRptPolicyType.Tlsa);
    }

    [Fact]
    public async Task Deliver_InProcessMismatch_Deferred()
    {
        var (outcome, sessions, received) = await DeliverAsync("mismatch.test", lab.RootAnchorsFile);
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Equal(0, received);
        Assert.Contains(sessions.Keys, k => k.Failure == TlsRptResultType.ValidationFailure);
    }

    [Fact]
    public async Task Deliver_InProcessBogusTlsa_DeferredWithDnssecInvalid()
    {
        var (outcome, sessions, received) = await DeliverAsync("bogus.test", lab.RootAnchorsFile);
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Equal(0, received);
        Assert.Contains(sessions.Keys, k => k.Failure == TlsRptResultType.DnssecInvalid && k.Policy.Domain == "mx.bogus.test");
    }

    [Fact]
    public async Task Deliver_InProcessUnsignedZone_DeliveredWithoutDane()
    {
        var (outcome, _, received) = await DeliverAsync("unsigned.test", lab.RootAnchorsFile);
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("none", outcome.PolicyApplied);
        Assert.Equal(1, received);
    }

    [Fact]
    public async Task Deliver_InProcessMxRewrittenAfterSigning_DeferredWithDnssecInvalid()
    {
        // The MX RRset of forgedmx.test points at mx.nodane.test (a PKIX-valid host without TLSA) under a
        // signature made for mx.forgedmx.test: followed unvalidated, it would take DANE out of the delivery.
        var (outcome, _, received) = await DeliverAsync("forgedmx.test", lab.RootAnchorsFile, serverOf: "nodane.test");
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Equal(0, received);
        Assert.Contains("MX lookup for forgedmx.test failed", outcome.Reply, StringComparison.Ordinal);
        Assert.Contains("dnssec-invalid", outcome.Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_InProcessSignedMx_ValidatedRecordsUsed()
    {
        using var resolver = new InProcessDnssecResolver(Settings(lab.RootAnchorsFile));
        var mx = await resolver.QueryMxAsync("ee311.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, mx.Status);
        Assert.True(mx.Authenticated);
        Assert.Equal("mx.ee311.test", mx.Records.Single().Exchange);
    }

    [Fact]
    public async Task Deliver_InProcessValidatorQueryGetsServFail_DeferredNotThrown()
    {
        // Only a validator asks for DNSKEY: the plain lookups get their answers, the validation cannot finish.
        // ARSoft throws a plain Exception("DNS request failed") for this; it must become a temporary lookup failure.
        using var forwarder = new FailingDnsForwarder(lab.Authoritative).Fail("test.", ARSoft.Tools.Net.Dns.RecordType.DnsKey);
        var (outcome, _, received) = await DeliverAsync("ee311.test", lab.RootAnchorsFile, dns: forwarder.EndPoint);
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Equal(0, received);
        Assert.Contains("DNS request failed", outcome.Reply, StringComparison.Ordinal);
        Assert.True(forwarder.Failed.ContainsKey("test DnsKey"));
    }

    [Fact]
    public async Task Deliver_InProcessAaaaServFail_GoodA_DeliveredOverIpv4AsInsecureHost()
    {
        // mx.mismatch.test is PKIX-valid but its (signed) TLSA names another key: with both address lookups
        // secure DANE refuses it (Deliver_InProcessMismatch_Deferred). With AAAA answered SERVFAIL the host is
        // reached over its good A record, and, one of its two lookups not secure, as an insecure host: no DANE,
        // opportunistic PKIX TLS, delivered.
        using var forwarder = new FailingDnsForwarder(lab.Authoritative).Fail("mx.mismatch.test", ARSoft.Tools.Net.Dns.RecordType.Aaaa);
        var (outcome, sessions, received) = await DeliverAsync("mismatch.test", lab.RootAnchorsFile, dns: forwarder.EndPoint);
        Assert.True(forwarder.Failed.ContainsKey("mx.mismatch.test Aaaa"));
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal(1, received);
        Assert.NotEqual("dane", outcome.PolicyApplied);
        Assert.Equal(lab["mismatch.test"].Address.ToString(), outcome.Session?.Target.Address.ToString());
        Assert.DoesNotContain(sessions.Keys, k => k.Policy.Type == TlsRptPolicyType.Tlsa);
    }

    [Fact]
    public async Task QueryAddresses_InProcessValidatorQueryGetsServFail_ServFailAnswer()
    {
        using var forwarder = new FailingDnsForwarder(lab.Authoritative).Fail("test.", ARSoft.Tools.Net.Dns.RecordType.DnsKey);
        var settings = Settings(lab.RootAnchorsFile) with { Servers = [forwarder.EndPoint] };
        using var resolver = new InProcessDnssecResolver(settings);
        foreach (var answer in new[]
        {
            (await resolver.QueryAddressesAsync("mx.ee311.test", TestContext.Current.CancellationToken)).Status,
            (await resolver.QueryTlsaAsync("_25._tcp.mx.ee311.test", TestContext.Current.CancellationToken)).Status,
            (await resolver.QueryTxtAsync("ee311.test", TestContext.Current.CancellationToken)).Status,
        })
        {
            Assert.Equal(DnsStatus.ServFail, answer);
        }
    }

    [Fact]
    public async Task QueryTlsa_RealRootAnchorsAgainstLabRoot_NotAuthenticated()
    {
        // The built-in anchors are the real root's keys: the lab's root does not chain to them, so nothing the
        // lab says is believed secure.
        using var resolver = new InProcessDnssecResolver(Settings(null));
        var answer = await resolver.QueryTlsaAsync("_25._tcp.mx.ee311.test", TestContext.Current.CancellationToken);
        Assert.False(answer.Authenticated && answer.Status == DnsStatus.Found);
    }

    [Fact]
    public async Task QueryTlsa_LabAnchor_AuthenticatedValidatedRecords()
    {
        using var resolver = new InProcessDnssecResolver(Settings(lab.RootAnchorsFile));
        var answer = await resolver.QueryTlsaAsync("_25._tcp.mx.ee311.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, answer.Status);
        Assert.True(answer.Authenticated);
        Assert.Equal("3 1 1", TlsaRecord.From(answer.Records.Single()).ToString()[..5]);
    }

    [Fact]
    public async Task Probe_InProcessWithLabAnchor_Available()
    {
        var settings = Settings(lab.RootAnchorsFile);
        using var resolver = new InProcessDnssecResolver(settings);
        var status = await new DaneResolverProbe(resolver, settings).ProbeAsync(TestContext.Current.CancellationToken);
        Assert.True(status.Validating, status.Message);
    }

    [Theory]
    [InlineData(". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D", 1)]
    [InlineData(InProcessDnssecResolver.BuiltInRootAnchors, 2)]
    [InlineData("# comment\n.\tIN\tDS\t38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16\n", 1)]
    public void ParseAnchors_AcceptedRow_Parsed(string text, int count) =>
        Assert.Equal(count, InProcessDnssecResolver.ParseAnchors(text).Count);

    [Theory]
    [InlineData("", "no DS record found")]
    [InlineData("test. IN DS 1 8 2 AB", "is not a root DS record")]
    [InlineData(". IN DNSKEY 257 3 8 AwEAAa", "is not a root DS record")]
    [InlineData(". IN DS 20326 8 2 XYZ", "digest is not hex")]
    public void ParseAnchors_RejectedRow_ThrowsNamingKey(string text, string reason)
    {
        var e = Assert.Throws<SettingsException>(() => InProcessDnssecResolver.ParseAnchors(text));
        Assert.Contains(SettingKeys.DnsTrustAnchors, e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}
