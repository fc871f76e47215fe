using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>
/// MTA-STS end to end: DNS on the wire, the policy over real HTTPS, SMTP with STARTTLS to loopback MX hosts,
/// the cache in Azurite; delivery driven through <see cref="DomainDeliverer"/> and <see cref="OutboundDeliveryHandler"/>.
/// </summary>
public sealed class MtaStsDeliveryTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private readonly StsWorld _world = new(azurite);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Policy(string mode, params string[] mx) =>
        $"version: STSv1\nmode: {mode}\n{string.Concat(mx.Select(m => $"mx: {m}\n"))}max_age: 86400\n";

    private static async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(IServiceProvider services, string domain) =>
        await services.GetRequiredService<DomainDeliverer>()
            .DeliverAsync(domain, [$"rcpt@{domain}"], "app@sender.test", StsWorld.Message($"rcpt@{domain}"), false, Ct);

    private static List<KeyValuePair<TlsSessionKey, long>> Sts(IServiceProvider services, string domain) =>
        StsWorld.Recorded(services).Where(r => r.Key.Policy.Type == TlsRptPolicyType.Sts && r.Key.Policy.Domain == domain).ToList();

    [Fact]
    public async Task Deliver_EnforceAndMatchingMx_DeliversOverVerifiedTls()
    {
        _world.Publish("enforce-ok.test", "e1", Policy("enforce", "mx.enforce-ok.test"));
        _world.Mx("enforce-ok.test", "mx.enforce-ok.test");
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "enforce-ok.test"));
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("sts", outcome.PolicyApplied);
        Assert.Equal("mta-sts mode=enforce id=e1", outcome.PolicyDetail);
        Assert.True(outcome.Session!.Tls!.Verdict!.Verified);
        Assert.True(Assert.Single(_world.Inbox).Secure);

        // Recorded as a successful sts session, with the policy lines and mx patterns TLS-RPT needs.
        var (key, count) = Assert.Single(Sts(services, "enforce-ok.test"));
        Assert.Null(key.Failure);
        Assert.Equal(1, count);
        Assert.Equal(["version: STSv1", "mode: enforce", "mx: mx.enforce-ok.test", "max_age: 86400"], key.Policy.Strings);
        Assert.Equal(["mx.enforce-ok.test"], key.Policy.MxHostPatterns);
    }

    [Fact]
    public async Task Deliver_EnforceAndNoMatchingMx_DefersAndRecords()
    {
        _world.Publish("enforce-miss.test", "m1", Policy("enforce", "mx.enforce-miss.test"));
        var server = _world.Mx("enforce-miss.test", "mx.elsewhere.test");
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "enforce-miss.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Contains("mx.elsewhere.test does not match any mx pattern of the MTA-STS policy of enforce-miss.test", outcome.Reply, StringComparison.Ordinal);
        Assert.Equal(0, server.SessionCount);
        Assert.Empty(_world.Inbox);

        var (key, _) = Assert.Single(Sts(services, "enforce-miss.test"));
        Assert.Equal(TlsRptResultType.ValidationFailure, key.Failure);
        Assert.Equal("mx.elsewhere.test", key.ReceivingMxHostname);
    }

    [Fact]
    public async Task Deliver_EnforceFirstMxNotInPolicy_NextMxTried()
    {
        // RFC 8461 §5: a host failing the policy is treated like an unreachable one; the next MX is tried.
        _world.Publish("enforce-next.test", "n1", Policy("enforce", "*.enforce-next.test"));
        var rogue = _world.Mx("enforce-next.test", "mx.rogue.test", preference: 5);
        _world.Mx("enforce-next.test", "mx2.enforce-next.test", preference: 20);
        var services = await _world.ServicesAsync();

        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "enforce-next.test")).Kind);
        Assert.Equal(0, rogue.SessionCount);
        Assert.Contains(Sts(services, "enforce-next.test"), r => r.Key.Failure == TlsRptResultType.ValidationFailure && r.Key.ReceivingMxHostname == "mx.rogue.test");
        Assert.Contains(Sts(services, "enforce-next.test"), r => r.Key.Failure is null && r.Key.ReceivingMxHostname == "mx2.enforce-next.test");
    }

    [Theory]
    [InlineData("a.b.wild.test")]
    [InlineData("wild.test")]
    public async Task Deliver_WildcardPattern_MatchesOneLabelOnly(string mxHost)
    {
        var domain = $"w{mxHost.Length}.test";
        _world.Publish(domain, "w1", Policy("enforce", "*.wild.test"));
        _world.Mx(domain, mxHost);
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, domain));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Contains($"{mxHost} does not match any mx pattern", outcome.Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_WildcardPattern_OneLabelDelivers()
    {
        _world.Publish("wildok.test", "w1", Policy("enforce", "*.wild-ok.test"));
        _world.Mx("wildok.test", "mx.wild-ok.test");
        var services = await _world.ServicesAsync();
        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "wildok.test")).Kind);
    }

    [Fact]
    public async Task Deliver_EnforceAndUntrustedMxCertificate_DefersEvenWithAllowInvalidCerts()
    {
        _world.Publish("enforce-cert.test", "c1", Policy("enforce", "mx.enforce-cert.test"));
        _world.Mx("enforce-cert.test", "mx.enforce-cert.test", trusted: false);
        var services = await _world.ServicesAsync(("Queue:Outbound:Tls:AllowInvalidCerts", "true"));

        var outcome = Assert.Single(await DeliverAsync(services, "enforce-cert.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Empty(_world.Inbox);
        var (key, _) = Assert.Single(Sts(services, "enforce-cert.test"));
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, key.Failure);
    }

    [Fact]
    public async Task Deliver_EnforceAndCertificateForAnotherHost_DefersWithHostMismatch()
    {
        _world.Publish("enforce-name.test", "h1", Policy("enforce", "mx.enforce-name.test"));
        _world.Mx("enforce-name.test", "mx.enforce-name.test", certificateName: "other.enforce-name.test");
        var services = await _world.ServicesAsync();

        Assert.Equal(OutcomeKind.Temporary, Assert.Single(await DeliverAsync(services, "enforce-name.test")).Kind);
        Assert.Empty(_world.Inbox);
        var (key, _) = Assert.Single(Sts(services, "enforce-name.test"));
        Assert.Equal(TlsRptResultType.CertificateHostMismatch, key.Failure);
    }

    [Fact]
    public async Task Deliver_EnforceAndNoStartTls_DefersWithStartTlsNotSupported()
    {
        _world.Publish("enforce-plain.test", "p1", Policy("enforce", "mx.enforce-plain.test"));
        _world.Mx("enforce-plain.test", "mx.enforce-plain.test", tls: false);
        var services = await _world.ServicesAsync();

        Assert.Equal(OutcomeKind.Temporary, Assert.Single(await DeliverAsync(services, "enforce-plain.test")).Kind);
        Assert.Empty(_world.Inbox);
        var (key, _) = Assert.Single(Sts(services, "enforce-plain.test"));
        Assert.Equal(TlsRptResultType.StartTlsNotSupported, key.Failure);
    }

    [Fact]
    public async Task Deliver_EnforceClientAuthOnlyCertificate_DefersAndRecords()
    {
        // RFC 5280 §4.2.1.12: chained to a trusted root (ExtraRootCas, so the chain is rebuilt), named right, but
        // its EKU allows client authentication only.
        _world.Publish("enforce-eku.test", "k1", Policy("enforce", "mx.enforce-eku.test"));
        var server = _world.Mx("enforce-eku.test", "mx.enforce-eku.test", certificate: _world.Ca.IssueServer(["mx.enforce-eku.test"], serverAuth: false));
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "enforce-eku.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Contains("not valid for TLS server authentication", outcome.Reply, StringComparison.Ordinal);
        Assert.Empty(_world.Inbox);
        Assert.Equal(1, server.SessionCount);
        var (key, _) = Assert.Single(Sts(services, "enforce-eku.test"));
        Assert.Equal(TlsRptResultType.ValidationFailure, key.Failure);
    }

    [Fact]
    public async Task Deliver_EnforceCommonNameOnlyCertificate_DefersAndRecords()
    {
        // RFC 8461 §4.2 via RFC 6125 §6.4.4: the MX host must be a SAN DNS-ID; a certificate naming it only in the
        // CN is refused.
        _world.Publish("enforce-cn.test", "c1", Policy("enforce", "mx.enforce-cn.test"));
        _world.Mx("enforce-cn.test", "mx.enforce-cn.test", certificate: _world.Ca.IssueServer(["mx.enforce-cn.test"], subjectAltName: false));
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "enforce-cn.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Empty(_world.Inbox);
        var (key, _) = Assert.Single(Sts(services, "enforce-cn.test"));
        Assert.Equal(TlsRptResultType.CertificateHostMismatch, key.Failure);
    }

    [Fact]
    public async Task Deliver_TestingModeMxNotInPolicy_DeliversAndRecords()
    {
        _world.Publish("testing.test", "t1", Policy("testing", "mx.testing.test"));
        var server = _world.Mx("testing.test", "mx.other-testing.test");
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "testing.test"));
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("sts", outcome.PolicyApplied);
        Assert.StartsWith("mta-sts mode=testing id=t1", outcome.PolicyDetail, StringComparison.Ordinal);
        var (key, count) = Assert.Single(Sts(services, "testing.test"));
        Assert.Equal(1, count);
        Assert.Equal(TlsRptResultType.ValidationFailure, key.Failure);
        Assert.Equal("mx.other-testing.test", key.ReceivingMxHostname);
        Assert.Contains("mode: testing", key.Policy.Strings);

        // RFC 8460 §4.4: a session was made, so its failure details carry both addresses.
        Assert.Equal(server.EndPoint.Address.ToString(), key.ReceivingIp);
        Assert.Equal(outcome.Session!.LocalAddress, key.SendingIp);
        Assert.NotNull(key.SendingIp);
    }

    [Fact]
    public async Task Deliver_TestingModeMatchingMx_DeliversAndRecordsSuccess()
    {
        _world.Publish("testing-ok.test", "t2", Policy("testing", "mx.testing-ok.test"));
        _world.Mx("testing-ok.test", "mx.testing-ok.test");
        var services = await _world.ServicesAsync();

        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "testing-ok.test")).Kind);
        var (key, _) = Assert.Single(Sts(services, "testing-ok.test"));
        Assert.Null(key.Failure);
    }

    [Fact]
    public async Task Deliver_FetchFailsWithoutCache_DeliversWithoutPolicyAndRecordsFetchError()
    {
        _world.Txt("fetchfail.test", "f1");
        _world.Dns.A("mta-sts.fetchfail.test", "127.0.0.1");
        _world.Https.Serve(_world.Ca, "fetchfail.test", new PolicyAnswer(404, []));
        _world.Mx("fetchfail.test", "mx.fetchfail.test");
        var services = await _world.ServicesAsync();

        var outcome = Assert.Single(await DeliverAsync(services, "fetchfail.test"));
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("none", outcome.PolicyApplied);
        var (key, _) = Assert.Single(Sts(services, "fetchfail.test"));
        Assert.Equal(TlsRptResultType.StsPolicyFetchError, key.Failure);
    }

    [Fact]
    public async Task Deliver_UntrustedPolicyHostCertificate_RecordsWebPkiInvalid()
    {
        using var other = new TestCertificateAuthority("Not Trusted Root");
        _world.Txt("policycert.test", "pc1");
        _world.Dns.A("mta-sts.policycert.test", "127.0.0.1");
        _world.Https.Serve(other, "policycert.test", PolicyAnswer.Ok(Policy("enforce", "mx.nowhere.test")));
        _world.Mx("policycert.test", "mx.policycert.test");

        // AllowInvalidCerts does not relax the policy fetch.
        var services = await _world.ServicesAsync(("Queue:Outbound:Tls:AllowInvalidCerts", "true"));
        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "policycert.test")).Kind);
        var (key, _) = Assert.Single(Sts(services, "policycert.test"));
        Assert.Equal(TlsRptResultType.StsWebPkiInvalid, key.Failure);
    }

    [Theory]
    [InlineData("missing-version", "mode: enforce\nmx: mx.x.test\nmax_age: 1\n")]
    [InlineData("bad-mode", "version: STSv1\nmode: on\nmx: mx.x.test\nmax_age: 1\n")]
    [InlineData("no-mx", "version: STSv1\nmode: enforce\nmax_age: 1\n")]
    [InlineData("bad-max-age", "version: STSv1\nmode: enforce\nmx: mx.x.test\nmax_age: forever\n")]
    [InlineData("junk", "\u0001\u0002\u0003garbage without colon")]
    public async Task Deliver_MalformedPolicy_ReportedAndDeliveredWithoutPolicy(string name, string body)
    {
        var domain = $"{name}.test";
        _world.Publish(domain, "x1", body);
        _world.Mx(domain, $"mx.{domain}");
        var services = await _world.ServicesAsync();

        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, domain)).Kind);
        var (key, _) = Assert.Single(Sts(services, domain));
        Assert.Equal(TlsRptResultType.StsPolicyInvalid, key.Failure);
        Assert.StartsWith($"mta-sts.{domain}: mta-sts", key.FailureReasonCode, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deliver_CacheHit_NoHttpRequestForLaterDeliveries()
    {
        _world.Publish("cached.test", "k1", Policy("enforce", "mx.cached.test"));
        _world.Mx("cached.test", "mx.cached.test");
        var services = await _world.ServicesAsync();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "cached.test")).Kind);
        }

        Assert.Equal(1, _world.Https.RequestsTo("mta-sts.cached.test"));
    }

    [Fact]
    public async Task Deliver_FetchFailsWithValidCache_KeepsEnforcing()
    {
        _world.Publish("stillenforced.test", "s1", Policy("enforce", "mx.stillenforced.test"));
        _world.Mx("stillenforced.test", "mx.stillenforced.test");
        var services = await _world.ServicesAsync();
        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "stillenforced.test")).Kind);

        // An attacker swaps the MX and blocks the policy fetch of a new id: the cached policy still refuses it.
        _world.Txt("stillenforced.test", "s2");
        _world.Https.Answers["mta-sts.stillenforced.test"] = new PolicyAnswer(503, []);
        _world.Dns.Clear("stillenforced.test", ARSoft.Tools.Net.Dns.RecordType.Mx);
        var rogue = _world.Mx("stillenforced.test", "mx.attacker.test");
        var outcome = Assert.Single(await DeliverAsync(services, "stillenforced.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Equal("mta-sts mode=enforce id=s1", outcome.PolicyDetail);
        Assert.Equal(0, rogue.SessionCount);
    }

    [Fact]
    public async Task Deliver_RequireModeWithoutPolicy_Defers()
    {
        _world.Mx("nopolicy.test", "mx.nopolicy.test");
        var server = _world.Mx("withpolicy.test", "mx.withpolicy.test");
        _world.Publish("withpolicy.test", "r1", Policy("enforce", "mx.withpolicy.test"));
        var services = await _world.ServicesAsync(("Queue:Outbound:Tls:MtaSts", "require"));

        var outcome = Assert.Single(await DeliverAsync(services, "nopolicy.test"));
        Assert.Equal(OutcomeKind.Temporary, outcome.Kind);
        Assert.Contains("Queue:Outbound:Tls:MtaSts=require but nopolicy.test has no valid MTA-STS policy", outcome.Reply, StringComparison.Ordinal);
        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "withpolicy.test")).Kind);
        Assert.Equal(1, server.SessionCount);
    }

    [Fact]
    public async Task Deliver_DisableMode_PolicyNeverLookedUp()
    {
        _world.Publish("disabled.test", "d1", Policy("enforce", "mx.somewhere-else.test"));
        _world.Mx("disabled.test", "mx.disabled.test");
        var services = await _world.ServicesAsync(("Queue:Outbound:Tls:MtaSts", "disable"));

        var outcome = Assert.Single(await DeliverAsync(services, "disabled.test"));
        Assert.Equal(OutcomeKind.Delivered, outcome.Kind);
        Assert.Equal("none", outcome.PolicyApplied);
        Assert.Equal(0, _world.Https.RequestsTo("mta-sts.disabled.test"));
        Assert.False(_world.Dns.QueriesByName.ContainsKey("_mta-sts.disabled.test Txt"));
    }

    [Fact]
    public async Task Deliver_PerDomainRule_OverridesDefault()
    {
        _world.Publish("ruled.test", "u1", Policy("enforce", "mx.not-this-one.test"));
        _world.Mx("ruled.test", "mx.ruled.test");
        _world.Publish("unruled.test", "u2", Policy("enforce", "mx.not-this-one.test"));
        _world.Mx("unruled.test", "mx.unruled.test");
        var services = await _world.ServicesAsync(
            ("Queue:Outbound:Tls:MtaSts", "disable"), ("Queue:Outbound:Tls:Rules:ruled.test:MtaSts", "optional"));

        Assert.Equal(OutcomeKind.Temporary, Assert.Single(await DeliverAsync(services, "ruled.test")).Kind);
        Assert.Equal(OutcomeKind.Delivered, Assert.Single(await DeliverAsync(services, "unruled.test")).Kind);
    }

    [Fact]
    public async Task HandleAsync_EnforceFailureAtExpiry_RechecksIdAndDeliversUnderNewPolicy()
    {
        // The domain moved its MX: the old policy (id o1) names only the old host. When the policy is
        // fetched, the domain publishes id o2 naming the new host; the attempt at expiry fails under o1,
        // the re-check before the final failure finds o2, and the message goes out (RFC 8461 §5.1).
        const string domain = "moved.test";
        _world.Mx(domain, "mx.new-moved.test");
        _world.Txt(domain, "o1");
        _world.Dns.A($"mta-sts.{domain}", "127.0.0.1");
        _world.Https.Serve(_world.Ca, domain, PolicyAnswer.Ok(Policy("enforce", "mx.old-moved.test")) with
        {
            OnServed = () =>
            {
                _world.Txt(domain, "o2");
                _world.Https.Answers[$"mta-sts.{domain}"] = PolicyAnswer.Ok(Policy("enforce", "mx.new-moved.test"));
            },
        });
        var services = await _world.ServicesAsync();
        var envelope = new OutboundEnvelope
        {
            Id = "sts-expiry-1",
            From = "app@sender.test",
            To = [$"rcpt@{domain}"],
            Message = Convert.ToBase64String(Encoding.UTF8.GetBytes("From: app@sender.test\r\nTo: rcpt@moved.test\r\nSubject: x\r\n\r\nhi\r\n")),
            QueuedAt = _world.Time.GetUtcNow().AddDays(-6),
            RecipientCount = 1,
        };
        await services.GetRequiredService<OutboundDeliveryHandler>().HandleAsync(Encoding.UTF8.GetString(EnvelopeSerializer.ToUtf8(envelope)), 1, Ct);

        Assert.Equal(2, _world.Https.RequestsTo($"mta-sts.{domain}"));
        var mail = Assert.Single(_world.Inbox);
        Assert.Equal([$"rcpt@{domain}"], mail.To);
        var row = Assert.Single(await new MtaFunctions.Client.MtaClient(azurite.ConnectionString).GetStatusAsync("sts-expiry-1", Ct));
        Assert.Equal(nameof(DeliveryState.Delivered), row.State);
        Assert.Equal("mta-sts mode=enforce id=o2", row.PolicyDetail);
    }
}
