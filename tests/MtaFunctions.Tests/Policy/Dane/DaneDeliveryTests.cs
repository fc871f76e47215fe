using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using MtaFunctions.Core;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// Whole deliveries under DANE (RFC 7672) against real DNSSEC (NSD + validating Unbound, <see cref="DnssecLab"/>),
/// real TLS and real SMTP servers on loopback: every case of issue 4.
/// </summary>
[Collection(DnssecLabCollection.Name)]
public sealed class DaneDeliveryTests(DnssecLab lab)
{
    private sealed record Attempt(IReadOnlyList<RecipientOutcome> Outcomes, IReadOnlyDictionary<TlsSessionKey, long> Sessions, TestSmtpServer Server)
    {
        public RecipientOutcome Outcome => Outcomes.Single();

        public bool Recorded(TlsRptResultType? failure, string policyDomain) =>
            Sessions.Keys.Any(k => k.Failure == failure && k.Policy.Type == TlsRptPolicyType.Tlsa && k.Policy.Domain == policyDomain);
    }

    private async Task<Attempt> DeliverAsync(string domain, Dictionary<string, string?>? settings = null, string? serverOf = null)
    {
        var scenario = lab[serverOf ?? domain];
        // The chain-sending listener also records the SNI of each handshake.
        await using var server = Server(scenario);
        await using var services = Services(settings);
        var outcomes = await SendAsync(services, domain);
        return new Attempt(outcomes, services.GetRequiredService<TlsSessionCounter>().Peek(), server);
    }

    private TestSmtpServer Server(DaneScenario scenario) => scenario.Leaf is null
        ? new TestSmtpServer(scenario.Address, lab.SmtpPort, null)
        : new TestSmtpServer(scenario.Address, lab.SmtpPort, scenario.Leaf, scenario.Chain);

    private ServiceProvider Services(Dictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = lab.Storage.ConnectionString,
            ["Dns:Servers"] = lab.Resolver.ToString(),
            ["Dns:TrustedValidators"] = lab.Resolver.ToString(),
            ["Dns:Timeout"] = "5s",
            ["Queue:Outbound:Smtp:Port"] = lab.SmtpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Queue:Outbound:Tls:ExtraRootCas"] = lab.Pki.PemFile,
            ["Queue:Outbound:AllowPrivateDestinations"] = "true",
            ["Queue:Outbound:Hostname"] = "sender.example.test",
            ["Queue:Outbound:Timeout:Connect"] = "5s",
            ["Queue:Outbound:Timeout:Command"] = "15s",
        };
        foreach (var (key, value) in Reporting.Outbound.TestDkimKeys.Settings("rsa"))
        {
            values[key] = value;
        }

        values["Report:Tls:Aggregate:Send"] = "daily";
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }

        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        return new ServiceCollection().AddLogging().AddMtaCore(config).BuildServiceProvider();
    }

    private static async Task<IReadOnlyList<RecipientOutcome>> SendAsync(ServiceProvider services, string domain)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@sender.example.test"));
        message.To.Add(MailboxAddress.Parse($"rcpt@{domain}"));
        message.Subject = $"DANE {domain}";
        message.Body = new TextPart("plain") { Text = "hello" };
        return await services.GetRequiredService<DomainDeliverer>()
            .DeliverAsync(domain, [$"rcpt@{domain}"], "sender@sender.example.test", message, false, TestContext.Current.CancellationToken);
    }

    private static void AssertDeliveredUnderDane(Attempt attempt, string matchedPrefix, string policyDomain)
    {
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("dane", attempt.Outcome.PolicyApplied);
        Assert.Contains($"matched {matchedPrefix} ", attempt.Outcome.PolicyDetail, StringComparison.Ordinal);
        Assert.True(attempt.Server.Inbox.Single().Secure);
        Assert.True(attempt.Recorded(null, policyDomain));
        var policy = attempt.Sessions.Keys.Single(k => k.Failure is null).Policy;
        Assert.Contains(policy.Strings, s => s.StartsWith(matchedPrefix, StringComparison.Ordinal));

        // RFC 7672 §8.1: SNI carries the TLSA base domain.
        Assert.Equal([policyDomain], attempt.Server.ChainListener!.ServerNames);
    }

    private static void AssertDeferred(Attempt attempt)
    {
        Assert.Equal(OutcomeKind.Temporary, attempt.Outcome.Kind);
        Assert.Empty(attempt.Server.Inbox);
    }

    [Theory]
    [InlineData("ee311.test", "3 1 1")]
    [InlineData("ee301.test", "3 0 1")]
    [InlineData("ee312.test", "3 1 2")]
    public async Task Deliver_DaneEeMatch_DeliveredUnderDane(string domain, string record) =>
        AssertDeliveredUnderDane(await DeliverAsync(domain), record, $"mx.{domain}");

    [Theory]
    [InlineData("ta201.test", "2 0 1")]
    [InlineData("ta211.test", "2 1 1")]
    public async Task Deliver_DaneTaWithChain_DeliveredUnderDaneWithSni(string domain, string record)
    {
        var attempt = await DeliverAsync(domain);
        AssertDeliveredUnderDane(attempt, record, $"mx.{domain}");
        Assert.NotEmpty(lab[domain].Chain);
    }

    [Fact]
    public async Task Deliver_DaneTaSessionOfOneDomain_NotReusedForAnotherDomainOnTheSameMx()
    {
        // RFC 7672 §3.2.2: the DANE-TA certificate names only tashared-a.test (a reference identifier of that
        // domain alone). A pooled session authenticated for it must not carry mail of tashared-b.test.
        var scenario = lab["tashared-a.test"];
        await using var server = Server(scenario);
        await using var services = Services();

        var first = (await SendAsync(services, "tashared-a.test")).Single();
        Assert.Equal(OutcomeKind.Delivered, first.Kind);
        Assert.Equal("dane", first.PolicyApplied);

        var second = (await SendAsync(services, "tashared-b.test")).Single();
        Assert.Equal(OutcomeKind.Temporary, second.Kind);
        Assert.False(second.Session?.Reused ?? false);
        Assert.Contains("certificate names none of", second.Reply, StringComparison.Ordinal);
        Assert.Single(server.Inbox);
        Assert.Contains(services.GetRequiredService<TlsSessionCounter>().Peek().Keys,
            k => k.Failure == TlsRptResultType.CertificateHostMismatch && k.Policy.Domain == "mx.tashared.test");

        // The pool still serves the domain the session was authenticated for.
        var third = (await SendAsync(services, "tashared-a.test")).Single();
        Assert.Equal(OutcomeKind.Delivered, third.Kind);
        Assert.True(third.Session!.Reused);
        Assert.Equal(2, server.Inbox.Count);
    }

    [Fact]
    public async Task Deliver_DaneEeSessionOfOneDomain_ReusedForAnotherDomainOnTheSameMx()
    {
        // DANE-EE ignores names (RFC 7671 §5.1): the verdict does not depend on the recipient domain, so the
        // session is reused across domains ("twomx.test" ends at mx.ee311.test when its first MX fails).
        await using var server = Server(lab["ee311.test"]);
        await using var services = Services();
        Assert.Equal(OutcomeKind.Delivered, (await SendAsync(services, "ee311.test")).Single().Kind);
        var other = (await SendAsync(services, "twomx.test")).Single();
        Assert.Equal(OutcomeKind.Delivered, other.Kind);
        Assert.True(other.Session!.Reused);
    }

    [Fact]
    public async Task Deliver_MxRewrittenAfterSigning_DeferredByTheValidatingResolver()
    {
        // The same forged MX as InProcessDnssecTests.Deliver_InProcessMxRewrittenAfterSigning_*: Unbound answers SERVFAIL.
        var attempt = await DeliverAsync("forgedmx.test", serverOf: "nodane.test");
        AssertDeferred(attempt);
        Assert.Contains("MX lookup for forgedmx.test failed", attempt.Outcome.Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_DaneTaExpiredRootSentAboveTheAnchor_Delivered()
    {
        // RFC 7671 §5.2: the expired root above the matched intermediate is not part of the DANE-TA path.
        var attempt = await DeliverAsync("taexpiredroot.test");
        AssertDeliveredUnderDane(attempt, "2 0 1", "mx.taexpiredroot.test");
        Assert.Equal(2, lab["taexpiredroot.test"].Chain.Count);
    }

    [Theory]
    [InlineData("ta200.test", "2 0 0")]
    [InlineData("ta210.test", "2 1 0")]
    public async Task Deliver_DaneTaFullAnchorInDnsNotSentByServer_DeliveredWithTheDnsCopy(string domain, string record)
    {
        // RFC 7671 §5.2.2-§5.2.3: the server sends only its leaf; the anchor (certificate or bare key) is in DNS.
        Assert.Empty(lab[domain].Chain);
        AssertDeliveredUnderDane(await DeliverAsync(domain), record, $"mx.{domain}");
    }

    [Fact]
    public async Task Deliver_TlsaMismatchOnPkixValidServer_DeferredAndRecordedAsValidationFailure()
    {
        var attempt = await DeliverAsync("mismatch.test");
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.ValidationFailure, "mx.mismatch.test"));
    }

    [Fact]
    public async Task Deliver_TlsaMismatchWithAllowInvalidCerts_StillDeferred()
    {
        var attempt = await DeliverAsync("mismatch.test", new() { ["Queue:Outbound:Tls:AllowInvalidCerts"] = "true" });
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.ValidationFailure, "mx.mismatch.test"));
    }

    [Fact]
    public async Task Deliver_OnlyUnusableTlsa_DeliveredOverTlsWithoutAuthentication()
    {
        var attempt = await DeliverAsync("unusable.test");
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("dane-unusable", attempt.Outcome.PolicyApplied);
        Assert.True(attempt.Server.Inbox.Single().Secure);
        Assert.False(attempt.Outcome.Session!.Tls!.Verdict!.Verified);
        Assert.Equal(TlsRptResultType.TlsaInvalid, attempt.Outcome.Session.Tls.Verdict.Failure);
    }

    [Fact]
    public async Task Deliver_ExpiredCertificateWithDaneEe_Delivered() =>
        AssertDeliveredUnderDane(await DeliverAsync("expired.test"), "3 1 1", "mx.expired.test");

    [Fact]
    public async Task Deliver_ServerWithoutStartTlsUnderDane_DeferredAndRecorded()
    {
        var attempt = await DeliverAsync("nostarttls.test");
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.StartTlsNotSupported, "mx.nostarttls.test"));
    }

    [Fact]
    public async Task Deliver_UnsignedDomainWithTlsa_DeliveredWithoutDane()
    {
        var attempt = await DeliverAsync("unsigned.test");
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);
        Assert.DoesNotContain(attempt.Sessions.Keys, k => k.Policy.Type == TlsRptPolicyType.Tlsa);
    }

    [Fact]
    public async Task Deliver_InsecureAddressesAndFailingTlsa_DeliveredWithoutAskingTlsa()
    {
        var attempt = await DeliverAsync("insecure-a.test");
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);

        // RFC 7672 §2.2.2: no TLSA question was asked; had it been, it would have failed.
        Assert.False(lab.Broken.QueriesByName.ContainsKey("_25._tcp.mx.insecure-a.test Tlsa"));
        var resolver = new MtaFunctions.Core.Dns.DnsClientResolver(
            new() { Servers = [lab.Resolver], Timeout = TimeSpan.FromSeconds(5) }, [lab.Resolver]);
        var tlsa = await resolver.QueryTlsaAsync("_25._tcp.mx.insecure-a.test", TestContext.Current.CancellationToken);
        Assert.Equal(MtaFunctions.Core.Dns.DnsStatus.ServFail, tlsa.Status);
        Assert.True(lab.Broken.QueriesByName.ContainsKey("_25._tcp.mx.insecure-a.test Tlsa"));
    }

    [Fact]
    public async Task Deliver_BogusTlsaSignature_DeferredWithDnssecInvalid()
    {
        var attempt = await DeliverAsync("bogus.test");
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.DnssecInvalid, "mx.bogus.test"));
        Assert.Empty(attempt.Server.RecipientAttempts);
    }

    [Fact]
    public async Task Deliver_TlsaServFailOnSecureHost_DeferredWithDnssecInvalid()
    {
        var attempt = await DeliverAsync("servfail-tlsa.test");
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.DnssecInvalid, "mx.servfail-tlsa.test"));
    }

    [Fact]
    public async Task Deliver_FirstMxTlsaServFail_NextMxUnderDaneTakesIt()
    {
        var attempt = await DeliverAsync("twomx.test", serverOf: "ee311.test");
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("dane", attempt.Outcome.PolicyApplied);
        Assert.True(attempt.Recorded(TlsRptResultType.DnssecInvalid, "mx.servfail-tlsa.test"));
        Assert.True(attempt.Recorded(null, "mx.ee311.test"));
    }

    [Fact]
    public async Task Deliver_CnameMxHost_TlsaAtExpandedNameIsTheBaseDomain()
    {
        var attempt = await DeliverAsync("cname.test");
        AssertDeliveredUnderDane(attempt, "3 1 1", "host.cname-target.test");
    }

    [Fact]
    public async Task Deliver_DigestAgilityOnlyWeakerDigestMatches_Deferred()
    {
        var attempt = await DeliverAsync("agility.test");
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.ValidationFailure, "mx.agility.test"));
    }

    [Fact]
    public async Task Deliver_ResolverNotListedAsTrusted_AdIgnoredAndNoDane()
    {
        var attempt = await DeliverAsync("mismatch.test", new() { ["Dns:TrustedValidators"] = "127.0.0.1:1" });
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);
    }

    [Fact]
    public async Task Deliver_NoTrustedValidatorsByDefault_NoDane()
    {
        var attempt = await DeliverAsync("mismatch.test", new() { ["Dns:TrustedValidators"] = null });
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);
    }

    [Fact]
    public async Task Deliver_RequireWithoutTlsa_DeferredWithDaneRequired()
    {
        var attempt = await DeliverAsync("nodane.test", new() { ["Queue:Outbound:Tls:Rules:nodane.test:Dane"] = "require" });
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.DaneRequired, "mx.nodane.test"));
    }

    [Fact]
    public async Task Deliver_OptionalWithoutTlsa_DeliveredWithPkix()
    {
        var attempt = await DeliverAsync("nodane.test");
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);
    }

    [Fact]
    public async Task Deliver_RequireWithUsableTlsa_Delivered() =>
        AssertDeliveredUnderDane(await DeliverAsync("ee311.test", new() { ["Queue:Outbound:Tls:Dane"] = "require" }), "3 1 1", "mx.ee311.test");

    [Fact]
    public async Task Deliver_RequireOnUnsignedDomain_DeferredWithDaneRequired()
    {
        var attempt = await DeliverAsync("unsigned.test", new() { ["Queue:Outbound:Tls:Dane"] = "require" });
        AssertDeferred(attempt);
        Assert.True(attempt.Recorded(TlsRptResultType.DaneRequired, "mx.unsigned.test"));
    }

    [Fact]
    public async Task Deliver_DisableOnMismatch_NeverLooksAtTlsaAndDelivers()
    {
        var attempt = await DeliverAsync("mismatch.test", new() { ["Queue:Outbound:Tls:Rules:mismatch.test:Dane"] = "disable" });
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
        Assert.Equal("none", attempt.Outcome.PolicyApplied);
    }

    [Fact]
    public async Task Deliver_DisableOnTlsaServFail_Delivers()
    {
        // With DANE disabled the broken TLSA servers are never asked, so the MX is usable.
        var attempt = await DeliverAsync("servfail-tlsa.test", new() { ["Queue:Outbound:Tls:Dane"] = "disable" });
        Assert.Equal(OutcomeKind.Delivered, attempt.Outcome.Kind);
    }

    [Theory]
    [InlineData("optional")]
    [InlineData("disable")]
    public async Task Deliver_DaneAndMtaStsSetting_DaneDecides(string mtaSts)
    {
        // RFC 8461 §2: DANE decides for an MX it applies to (the domain publishes no MTA-STS policy;
        // Deliver_DaneAndEnforcedMtaStsOnOneDomain_* covers one that does).
        var attempt = await DeliverAsync("ee311.test", new() { ["Queue:Outbound:Tls:MtaSts"] = mtaSts });
        AssertDeliveredUnderDane(attempt, "3 1 1", "mx.ee311.test");
    }

    [Fact]
    public async Task Deliver_MtaStsRequireWithoutPolicyWhereDaneApplies_Deferred()
    {
        // Seed: "Require MTA-STS and do not deliver unless a valid STS policy is available" - DANE or not.
        var attempt = await DeliverAsync("ee311.test", new() { ["Queue:Outbound:Tls:MtaSts"] = "require" });
        AssertDeferred(attempt);
        Assert.Contains("MtaSts=require but ee311.test has no valid MTA-STS policy", attempt.Outcome.Reply, StringComparison.Ordinal);
        Assert.Equal(0, attempt.Server.SessionCount);
    }

    [Fact]
    public async Task Deliver_OnlyUnusableTlsaAndEnforcedMtaSts_MtaStsStillApplies()
    {
        // DANE gives no authentication here (RFC 7672 §2.2: TLS required, unauthenticated); the enforced STS policy
        // still demands a PKIX-valid certificate, which the self-signed one is not.
        await using var https = new MtaSts.TestPolicyServer();
        https.Serve(lab.Pki, "stsunusable.test", MtaSts.PolicyAnswer.Ok("version: STSv1\nmode: enforce\nmx: mx.stsunusable.test\nmax_age: 86400\n"));
        var port = https.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var attempt = await DeliverAsync("stsunusable.test", new() { ["Queue:Outbound:MtaSts:Port"] = port });
        AssertDeferred(attempt);
        Assert.Equal("sts", attempt.Outcome.PolicyApplied);
        Assert.Contains(attempt.Sessions.Keys, k => k.Policy.Type == TlsRptPolicyType.Sts && k.Failure == TlsRptResultType.CertificateNotTrusted);
    }

    [Fact]
    public async Task Deliver_DaneAndEnforcedMtaStsOnOneDomain_DaneDecidesForItsMx()
    {
        // RFC 8461 §2: where DANE applies to an MX, MTA-STS does not override it. The domain's enforce policy
        // does not list the MX and the certificate is self-signed: only DANE-EE can authenticate it.
        await using var https = new MtaSts.TestPolicyServer();
        https.Serve(lab.Pki, "stsdane.test", MtaSts.PolicyAnswer.Ok("version: STSv1\nmode: enforce\nmx: other.stsdane.test\nmax_age: 86400\n"));
        var port = https.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        var underDane = await DeliverAsync("stsdane.test", new() { ["Queue:Outbound:MtaSts:Port"] = port });
        AssertDeliveredUnderDane(underDane, "3 1 1", "mx.stsdane.test");
        Assert.Equal(1, https.RequestsTo("mta-sts.stsdane.test"));

        // MtaSts = require is met by the valid policy; DANE still decides for its MX.
        AssertDeliveredUnderDane(
            await DeliverAsync("stsdane.test", new() { ["Queue:Outbound:MtaSts:Port"] = port, ["Queue:Outbound:Tls:MtaSts"] = "require" }),
            "3 1 1", "mx.stsdane.test");

        // Without DANE the same domain is under MTA-STS enforce: the MX is not in the policy, nothing is sent.
        var stsOnly = await DeliverAsync("stsdane.test", new() { ["Queue:Outbound:MtaSts:Port"] = port, ["Queue:Outbound:Tls:Dane"] = "disable" });
        AssertDeferred(stsOnly);
        Assert.Contains(stsOnly.Sessions.Keys, k => k.Policy.Type == Core.Reporting.TlsRpt.TlsRptPolicyType.Sts && k.Failure is not null);
    }
}
