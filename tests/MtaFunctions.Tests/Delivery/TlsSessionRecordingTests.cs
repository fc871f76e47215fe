using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Tests.Delivery;

/// <summary>What the delivery hands to TLS-RPT for sessions without a published policy.</summary>
public sealed class TlsSessionRecordingTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    private static (string, string)[] Recording(params (string, string)[] more) =>
        [.. TestDkimKeys.Settings("rsa"), ("Report:Tls:Aggregate:Send", "daily"), .. more];

    [Fact]
    public async Task Deliver_VerifiedStartTls_CountedAsSuccessUnderNoPolicy()
    {
        await using var host = await MtaTestHost.StartAsync(storage, Recording());
        host.AddDomain("ok.test", "mx.ok.test", "127.0.0.61");
        host.AddSmtpServer("127.0.0.61", host.Ca.IssueServer(["mx.ok.test"]));

        await host.SendAsync(Sender, ["a@ok.test"], MtaTestHost.Message(Sender, "a@ok.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var (key, count) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal(1, count);
        Assert.Null(key.Failure);
        Assert.Equal(TlsRptPolicyType.NoPolicyFound, key.Policy.Type);
        Assert.Equal("ok.test", key.Policy.Domain);
        Assert.Equal("mx.ok.test", key.ReceivingMxHostname);
        Assert.Equal("127.0.0.61", key.ReceivingIp);
        Assert.NotNull(key.SendingIp);
    }

    [Fact]
    public async Task Deliver_InvalidCertificateAcceptedByAllowInvalidCerts_CountedAsFailure()
    {
        await using var host = await MtaTestHost.StartAsync(storage, Recording(("Queue:Outbound:Tls:AllowInvalidCerts", "true")));
        host.AddDomain("selfsigned.test", "mx.selfsigned.test", "127.0.0.62");
        host.AddSmtpServer("127.0.0.62", TestCertificateAuthority.SelfSigned("mx.selfsigned.test"));

        await host.SendAsync(Sender, ["a@selfsigned.test"], MtaTestHost.Message(Sender, "a@selfsigned.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Single(host.Inbox);
        var (key, count) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal(1, count);
        Assert.Equal(TlsRptResultType.CertificateNotTrusted, key.Failure);
    }

    [Fact]
    public async Task Deliver_EgressIpsSet_SendingIpIsThePublicAddressOfThePeersFamily()
    {
        // Behind NAT the socket's address is private; RFC 8460 §4.4 sending-mta-ip is the address the receiver saw.
        await using var host = await MtaTestHost.StartAsync(storage, Recording(("Queue:Outbound:EgressIps", "2001:db8::25, 203.0.113.25")));
        host.AddDomain("nat.test", "mx.nat.test", "127.0.0.65");
        host.AddSmtpServer("127.0.0.65", host.Ca.IssueServer(["mx.nat.test"]));

        await host.SendAsync(Sender, ["a@nat.test"], MtaTestHost.Message(Sender, "a@nat.test"));
        await host.PumpAsync(TimeSpan.Zero);

        var (key, _) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal("127.0.0.65", key.ReceivingIp);
        Assert.Equal("203.0.113.25", key.SendingIp);
    }

    [Fact]
    public async Task Deliver_IdnRecipientDomain_PolicyDomainInALabels()
    {
        // RFC 8460 §4.4: policy-domain (and so the report's file name and TLS-Report-Domain) in A-labels.
        await using var host = await MtaTestHost.StartAsync(storage, Recording());
        host.AddDomain("xn--bcher-kva.test", "mx.xn--bcher-kva.test", "127.0.0.64");
        host.AddSmtpServer("127.0.0.64", host.Ca.IssueServer(["mx.xn--bcher-kva.test"]));

        var id = await host.SendAsync(Sender, ["user@Bücher.test"], MtaTestHost.Message(Sender, "user@xn--bcher-kva.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal("Delivered", (await host.StatusAsync(id))["user@Bücher.test"].State);
        var (key, _) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Null(key.Failure);
        Assert.Equal("xn--bcher-kva.test", key.Policy.Domain);
    }

    [Fact]
    public async Task Deliver_NoStartTlsOffered_CountedAsStartTlsNotSupported()
    {
        await using var host = await MtaTestHost.StartAsync(storage, Recording());
        host.AddDomain("plain.test", "mx.plain.test", "127.0.0.63");
        host.AddSmtpServer("127.0.0.63", null);

        await host.SendAsync(Sender, ["a@plain.test"], MtaTestHost.Message(Sender, "a@plain.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.False(Assert.Single(host.Inbox).Secure);
        var (key, _) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal(TlsRptResultType.StartTlsNotSupported, key.Failure);
    }
}
