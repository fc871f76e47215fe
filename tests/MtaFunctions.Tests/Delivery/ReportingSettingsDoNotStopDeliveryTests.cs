using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// A reporting setting the code cannot use switches reporting off and never stops delivery: the engine is
/// built on it and a message is delivered end to end (queue, DNS, SMTP on loopback), as in Azure.
/// </summary>
public sealed class ReportingSettingsDoNotStopDeliveryTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    public static TheoryData<string, string, string> BadReportSettings => new()
    {
        // What the templates used to write: host mta.<domain>, no submitter, contact postmaster@<domain>.
        { SettingKeys.TlsReportContactInfo, "postmaster@sender.test", SettingKeys.TlsReportContactInfo },
        // A DKIM key whose Key Vault secret does not exist yet.
        { "Report:Dkim:rsa:PrivateKey", "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/dkim-rsa/)", "Report:Dkim:rsa:PrivateKey" },
        { SettingKeys.TlsReportSend, "monthly", SettingKeys.TlsReportSend },
        { SettingKeys.TlsRptInboundKey, "short", SettingKeys.TlsRptInboundKey },
    };

    [Theory]
    [MemberData(nameof(BadReportSettings))]
    public async Task Deliver_BadReportSetting_Delivered(string key, string value, string problemKey)
    {
        await using var host = await MtaTestHost.StartAsync(
            storage,
            (SettingKeys.TlsReportSend, "daily"),
            (SettingKeys.TlsReportSign, "rsa"),
            ("Report:Dkim:rsa:Domain", "sender.test"),
            ("Report:Dkim:rsa:Selector", "s1"),
            ("Report:Dkim:rsa:PrivateKey", Reporting.Outbound.TestDkimKeys.Rsa.Pem),
            (key, value));
        var settings = (MtaSettings)host.Services.GetService(typeof(MtaSettings))!;
        Assert.Equal(problemKey, (settings.Report.Problem ?? settings.TlsRptInbound.Problem)?.Key);

        host.AddDomain("example.test", "mx.example.test", "127.0.0.11");
        host.AddSmtpServer("127.0.0.11", host.Ca.IssueServer(["mx.example.test"]));
        var message = MtaTestHost.Message(Sender, "alice@example.test");
        var id = await host.SendAsync(Sender, ["alice@example.test"], message);
        await host.PumpAsync();

        var received = Assert.Single(host.Inbox);
        Assert.Equal(System.Text.Encoding.ASCII.GetString(message).TrimEnd('\r', '\n'), System.Text.Encoding.ASCII.GetString(Smtp.RelaySamples.AfterOwnReceived(received.Data, id)).TrimEnd('\r', '\n'));
        Assert.Equal(nameof(DeliveryState.Delivered), (await host.StatusAsync(id))["alice@example.test"].State);
    }
}
