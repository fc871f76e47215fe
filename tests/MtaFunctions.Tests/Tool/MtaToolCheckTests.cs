using System.Globalization;
using System.Text.Json;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Policy.Dane;
using MtaFunctions.Tests.Policy.MtaSts;

namespace MtaFunctions.Tests.Tool;

/// <summary>
/// <c>mta check DOMAIN</c> against real DNSSEC (the lab's NSD + validating Unbound), real SMTP servers with real
/// TLS, and a real MTA-STS policy host: a DANE domain, a bogus zone, a plaintext-only MX, an MTA-STS domain.
/// </summary>
[Collection(DnssecLabCollection.Name)]
public sealed class MtaToolCheckTests(DnssecLab lab)
{
    private string[] LabSettings =>
    [
        "--connection-string", lab.Storage.ConnectionString,
        "--set", $"Dns:Servers={lab.Resolver}", "--set", $"Dns:TrustedValidators={lab.Resolver}", "--set", "Dns:Timeout=5s",
        "--set", $"Queue:Outbound:Smtp:Port={lab.SmtpPort.ToString(CultureInfo.InvariantCulture)}",
        "--set", $"Queue:Outbound:Tls:ExtraRootCas={lab.Pki.PemFile}", "--set", "Queue:Outbound:AllowPrivateDestinations=true",
        "--set", "Queue:Outbound:Hostname=sender.example.test", "--set", "Queue:Outbound:Timeout:Connect=5s",
    ];

    private async Task<(ToolRun Text, JsonElement Json, TestSmtpServer Server)> CheckAsync(string domain, bool plaintext = false)
    {
        var scenario = lab[domain];
        var server = plaintext || scenario.Leaf is null
            ? new TestSmtpServer(scenario.Address, lab.SmtpPort, null)
            : new TestSmtpServer(scenario.Address, lab.SmtpPort, scenario.Leaf, scenario.Chain);
        try
        {
            var text = await ToolRun.RunAsync(["check", domain, .. LabSettings]);
            var json = await ToolRun.RunAsync(["check", domain, "--json", .. LabSettings]);
            Assert.True(text.Exit == json.Exit && json.Out.Length > 0, $"{text}\n---\n{json}");
            return (text, json.Json(), server);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task DaneDomain_TlsaUsable_DaneVerifiesWherePkixFails()
    {
        var (text, json, server) = await CheckAsync("ee311.test");

        Assert.True(text.Exit == 0, text.ToString());
        var host = Assert.Single(json.GetProperty("hosts").EnumerateArray());
        Assert.Equal("mx.ee311.test", host.GetProperty("host").GetString());
        Assert.True(host.GetProperty("dnssecSecure").GetBoolean());
        Assert.Equal("usable", host.GetProperty("tlsa").GetProperty("status").GetString());
        Assert.StartsWith("3 1 1 ", Assert.Single(host.GetProperty("tlsa").GetProperty("records").EnumerateArray()).GetProperty("record").GetString());
        Assert.Equal("dane", host.GetProperty("policy").GetProperty("applied").GetString());
        Assert.Equal("required", host.GetProperty("policy").GetProperty("tls").GetString());
        var probe = Assert.Single(host.GetProperty("probes").EnumerateArray());
        Assert.True(probe.GetProperty("startTlsOffered").GetBoolean());
        Assert.StartsWith("Tls1", probe.GetProperty("tlsVersion").GetString(), StringComparison.Ordinal);
        Assert.Equal("CN=mx.ee311.test", probe.GetProperty("chain")[0].GetProperty("subject").GetString());
        Assert.True(probe.GetProperty("dane").GetProperty("verified").GetBoolean());
        Assert.StartsWith("3 1 1 ", probe.GetProperty("dane").GetProperty("matched").GetString());
        Assert.False(probe.GetProperty("pkix").GetProperty("verified").GetBoolean());
        Assert.Equal(JsonValueKind.Null, probe.GetProperty("sts").ValueKind);
        Assert.True(probe.GetProperty("delivery").GetProperty("wouldSend").GetBoolean());
        var verdict = json.GetProperty("verdict");
        Assert.True(verdict.GetProperty("deliverable").GetBoolean());
        Assert.Equal("dane", verdict.GetProperty("policy").GetString());
        Assert.Contains("=> delivery would use mx.ee311.test[", text.Out, StringComparison.Ordinal);
        Assert.Contains("TLS, certificate authenticated under dane (TLSA 3 1 1 ", text.Out, StringComparison.Ordinal);

        // A probe sends no mail.
        Assert.Empty(server.Inbox);
        Assert.Empty(server.RecipientAttempts);
    }

    [Fact]
    public async Task BogusZone_TlsaLookupFails_HostRefusedExitOne()
    {
        var (text, json, _) = await CheckAsync("bogus.test");

        Assert.True(text.Exit == 1, text.ToString());
        var host = Assert.Single(json.GetProperty("hosts").EnumerateArray());
        Assert.True(host.GetProperty("dnssecSecure").GetBoolean());
        Assert.Equal("failed", host.GetProperty("tlsa").GetProperty("status").GetString());
        Assert.NotEqual(JsonValueKind.Null, host.GetProperty("policy").GetProperty("refusal").ValueKind);
        var probe = Assert.Single(host.GetProperty("probes").EnumerateArray());
        Assert.False(probe.GetProperty("delivery").GetProperty("wouldSend").GetBoolean());

        // PKIX alone would accept the certificate, but a bogus TLSA answer is never a fallback (RFC 7672 §2.1.1).
        Assert.True(probe.GetProperty("pkix").GetProperty("verified").GetBoolean());
        Assert.False(json.GetProperty("verdict").GetProperty("deliverable").GetBoolean());
        Assert.Contains("=> deferred: no MX host would take the message: mx.bogus.test:", text.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlaintextOnlyMx_NoStartTls_OpportunisticDeliversInPlaintext()
    {
        var (text, json, _) = await CheckAsync("nodane.test", plaintext: true);

        Assert.True(text.Exit == 0, text.ToString());
        var host = Assert.Single(json.GetProperty("hosts").EnumerateArray());
        Assert.Equal("no-records", host.GetProperty("tlsa").GetProperty("status").GetString());
        Assert.Equal("none", host.GetProperty("policy").GetProperty("applied").GetString());
        Assert.Equal("opportunistic", host.GetProperty("policy").GetProperty("tls").GetString());
        var probe = Assert.Single(host.GetProperty("probes").EnumerateArray());
        Assert.False(probe.GetProperty("startTlsOffered").GetBoolean());
        Assert.Equal(JsonValueKind.Null, probe.GetProperty("tlsVersion").ValueKind);
        Assert.Empty(probe.GetProperty("chain").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, probe.GetProperty("pkix").ValueKind);
        Assert.Contains("plaintext", probe.GetProperty("delivery").GetProperty("why").GetString(), StringComparison.Ordinal);
        Assert.Contains("STARTTLS not offered", text.Out, StringComparison.Ordinal);

        // The same MX under STARTTLS=require: delivery would not send there.
        var required = await ToolRun.RunAsync(["check", "nodane.test", "--set", "Queue:Outbound:Tls:StartTls=require", .. LabSettings]);
        Assert.True(required.Exit == 1, required.ToString());
    }
}

/// <summary><c>mta check</c> of an MTA-STS domain (real DNS on loopback, real HTTPS policy host, real SMTP + TLS).</summary>
public sealed class MtaToolStsCheckTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncDisposable
{
    private readonly StsWorld _world = new(azurite);

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    [Fact]
    public async Task StsDomain_EnforcedPolicy_MatchingMxUsedOtherRefused()
    {
        const string domain = "check-sts.test";
        _world.Publish(domain, "20261130", $"version: STSv1\nmode: enforce\nmx: mx.{domain}\nmax_age: 604800\n");
        _world.Mx(domain, $"rogue.{domain}", preference: 5);
        var good = _world.Mx(domain, $"mx.{domain}", preference: 10);
        _world.Dns.Txt($"_smtp._tls.{domain}", "v=TLSRPTv1; rua=mailto:tlsrpt@check-sts.test");
        string[] settings =
        [
            "--connection-string", azurite.ConnectionString, "--set", $"Dns:Servers={_world.Dns.EndPoint}", "--set", "Dns:Timeout=2s",
            "--set", $"Queue:Outbound:Smtp:Port={_world.SmtpPort.ToString(CultureInfo.InvariantCulture)}",
            "--set", $"Queue:Outbound:MtaSts:Port={_world.Https.Port.ToString(CultureInfo.InvariantCulture)}",
            "--set", $"Queue:Outbound:Tls:ExtraRootCas={_world.Ca.PemFile}", "--set", "Queue:Outbound:AllowPrivateDestinations=true",
            "--set", "Queue:Outbound:Hostname=mta.sender.test",
        ];

        var run = await ToolRun.RunAsync(["check", domain, "--json", .. settings]);

        Assert.True(run.Exit == 0, run.ToString());
        var json = run.Json();
        var sts = json.GetProperty("sts");
        Assert.Equal("found", sts.GetProperty("record").GetString());
        Assert.Equal("20261130", sts.GetProperty("id").GetString());
        Assert.Equal("enforce", sts.GetProperty("mode").GetString());
        Assert.Equal([$"mx.{domain}"], sts.GetProperty("mxPatterns").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(604800, sts.GetProperty("maxAge").GetInt64());
        Assert.Equal(JsonValueKind.Null, sts.GetProperty("fetchError").ValueKind);
        Assert.Equal(["mailto:tlsrpt@check-sts.test"], json.GetProperty("tlsRpt").GetProperty("rua").EnumerateArray().Select(e => e.GetString()));

        var hosts = json.GetProperty("hosts").EnumerateArray().ToList();
        Assert.Equal([$"rogue.{domain}", $"mx.{domain}"], hosts.Select(h => h.GetProperty("host").GetString()));
        Assert.Contains("does not match any mx pattern", hosts[0].GetProperty("policy").GetProperty("refusal").GetString(), StringComparison.Ordinal);
        var rogueProbe = Assert.Single(hosts[0].GetProperty("probes").EnumerateArray());
        Assert.False(rogueProbe.GetProperty("sts").GetProperty("verified").GetBoolean());
        Assert.True(rogueProbe.GetProperty("pkix").GetProperty("verified").GetBoolean());
        Assert.False(rogueProbe.GetProperty("delivery").GetProperty("wouldSend").GetBoolean());

        Assert.Equal("sts", hosts[1].GetProperty("policy").GetProperty("applied").GetString());
        Assert.Equal("required", hosts[1].GetProperty("policy").GetProperty("tls").GetString());
        var probe = Assert.Single(hosts[1].GetProperty("probes").EnumerateArray());
        Assert.True(probe.GetProperty("sts").GetProperty("verified").GetBoolean());
        Assert.True(probe.GetProperty("delivery").GetProperty("wouldSend").GetBoolean());
        var verdict = json.GetProperty("verdict");
        Assert.Equal($"mx.{domain}", verdict.GetProperty("host").GetString());
        Assert.Equal("sts", verdict.GetProperty("policy").GetString());
        Assert.Empty(good.Inbox);

        // The policy host answers 404 now: the fetch error is shown; the cached policy still decides.
        _world.Https.Serve(_world.Ca, domain, new PolicyAnswer(404, []));
        var failing = await ToolRun.RunAsync(["check", domain, "--json", .. settings]);
        Assert.StartsWith("sts-policy-fetch-error: ", failing.Json().GetProperty("sts").GetProperty("fetchError").GetString(), StringComparison.Ordinal);
    }
}
