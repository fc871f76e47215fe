using System.Net;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// Opportunistic TLS whose STARTTLS breaks (RFC 3207 §4.1; Postfix "may", mox): with no DANE, no enforced
/// MTA-STS policy and StartTls = optional the message goes in plaintext on a new connection and TLS-RPT counts
/// the failure; under StartTls = require it is deferred.
/// </summary>
public sealed class PlaintextFallbackTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    public static TheoryData<StartTlsBreakage, TlsRptResultType> Breakages { get; } = new()
    {
        { StartTlsBreakage.Refuse454, TlsRptResultType.StartTlsNotSupported },
        { StartTlsBreakage.GarbageHandshake, TlsRptResultType.ValidationFailure },
        { StartTlsBreakage.Tls10Only, TlsRptResultType.ValidationFailure },
    };

    private static (string, string)[] Recording(params (string, string)[] more) =>
        [.. TestDkimKeys.Settings("rsa"), ("Report:Tls:Aggregate:Send", "daily"), .. more];

    [Theory]
    [MemberData(nameof(Breakages))]
    public async Task Deliver_OpportunisticStartTlsBreaks_DeliveredInPlaintextAndCounted(StartTlsBreakage breakage, TlsRptResultType counted)
    {
        await using var host = await MtaTestHost.StartAsync(storage, Recording());
        host.AddDomain("broken.test", "mx.broken.test", "127.0.0.71");
        await using var server = new BrokenStartTlsSmtpServer(IPAddress.Parse("127.0.0.71"), host.SmtpPort, breakage, host.Ca.IssueServer(["mx.broken.test"]));
        var message = MtaTestHost.Message(Sender, "a@broken.test");

        var id = await host.SendAsync(Sender, ["a@broken.test"], message);
        await host.PumpAsync(TimeSpan.Zero);

        var row = (await host.StatusAsync(id))["a@broken.test"];
        Assert.Equal("Delivered", row.State);
        Assert.Null(row.TlsVersion);
        Assert.Contains("plaintext after opportunistic TLS failed", row.PolicyDetail, StringComparison.Ordinal);
        Assert.Equal(message, Smtp.RelaySamples.AfterOwnReceived(Assert.Single(server.Inbox), id));
        Assert.Equal(1, server.StartTlsCount);
        Assert.Equal(2, server.SessionCount);

        var (key, count) = Assert.Single(host.Services.GetRequiredService<TlsSessionCounter>().Peek());
        Assert.Equal(1, count);
        Assert.Equal(counted, key.Failure);
        Assert.Equal(TlsRptPolicyType.NoPolicyFound, key.Policy.Type);
        Assert.Equal("127.0.0.71", key.ReceivingIp);
        Assert.NotNull(key.SendingIp);
    }

    [Theory]
    [MemberData(nameof(Breakages))]
    public async Task Deliver_RequiredStartTlsBreaks_DeferredWithoutPlaintext(StartTlsBreakage breakage, TlsRptResultType counted)
    {
        _ = counted;
        await using var host = await MtaTestHost.StartAsync(storage, Recording(("Queue:Outbound:Tls:StartTls", "require")));
        host.AddDomain("broken.test", "mx.broken.test", "127.0.0.72");
        await using var server = new BrokenStartTlsSmtpServer(IPAddress.Parse("127.0.0.72"), host.SmtpPort, breakage, host.Ca.IssueServer(["mx.broken.test"]));

        var id = await host.SendAsync(Sender, ["a@broken.test"], MtaTestHost.Message(Sender, "a@broken.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal("Deferred", (await host.StatusAsync(id))["a@broken.test"].State);
        Assert.Empty(server.Inbox);
        Assert.Equal(1, server.SessionCount);
    }
}
