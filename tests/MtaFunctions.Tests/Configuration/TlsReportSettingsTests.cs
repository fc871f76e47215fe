using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Tests.Configuration;

public sealed class TlsReportSettingsTests
{
    private static TlsReportSettings Read(params (string Key, string Value)[] values) =>
        SettingsReader.Read(new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))
                .Append(new KeyValuePair<string, string?>(SettingKeys.Hostname, "mta.sender.test")))
            .Build()).Report;

    [Fact]
    public void Read_NoSettings_PinsEveryDefault()
    {
        var s = Read();
        Assert.Equal(TlsReportFrequency.Never, s.Send);
        Assert.Equal("mta.sender.test", s.Submitter);
        Assert.Equal("Report Subsystem", s.FromName);
        Assert.Equal("noreply-tls@mta.sender.test", s.FromAddress);
        Assert.Equal("mta.sender.test", s.OrgName);
        Assert.Equal("noreply-tls@mta.sender.test", s.ContactInfo);
        Assert.Equal(26_214_400, s.MaxSize);
        Assert.Empty(s.Sign);
    }

    [Fact]
    public void Read_FullSection_ReadsEverySignature()
    {
        var s = Read(
            [.. TestDkimKeys.Settings(),
            (SettingKeys.TlsReportSend, "Weekly"),
            (SettingKeys.ReportSubmitter, "example.org"),
            (SettingKeys.TlsReportFromAddress, "tls@example.org"),
            (SettingKeys.TlsReportContactInfo, "mailto:tls-admin@example.org"),
            (SettingKeys.TlsReportOrgName, "Example Org"),
            (SettingKeys.TlsReportMaxSize, "1048576")]);
        Assert.Equal(TlsReportFrequency.Weekly, s.Send);
        Assert.Equal("example.org", s.Submitter);
        Assert.Equal(1_048_576, s.MaxSize);
        Assert.Equal(["rsa", "ed"], s.Sign.Select(d => d.Name));
        Assert.Equal(DkimAlgorithm.Ed25519Sha256, s.Sign[1].Algorithm);
        Assert.DoesNotContain("PRIVATE", s.Sign[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PrivateKeyFile_Loaded()
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, TestDkimKeys.Rsa.Pem);
        var s = Read(
            (SettingKeys.TlsReportSend, "daily"), (SettingKeys.TlsReportSign, "k"),
            ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Selector", "s1"), ("Report:Dkim:k:PrivateKeyFile", file));
        Assert.Equal(DkimAlgorithm.RsaSha256, Assert.Single(s.Sign).Algorithm);
    }

    public static TheoryData<(string, string)[], string, string> Bad => new()
    {
        { [(SettingKeys.TlsReportSend, "monthly")], SettingKeys.TlsReportSend, "setting Report:Tls:Aggregate:Send: 'monthly' is not one of never, hourly, daily, weekly" },
        { [(SettingKeys.TlsReportMaxSize, "big")], SettingKeys.TlsReportMaxSize, "setting Report:Tls:Aggregate:MaxSize: 'big' is not a size in bytes of at least 1024" },
        { [(SettingKeys.TlsReportSend, "daily")], SettingKeys.TlsReportSign, "setting Report:Tls:Aggregate:Sign: names no DKIM signature; mailed TLS reports MUST be DKIM-signed (RFC 8460 §3): define Report:Dkim:<name>:* and list the name, or set Send = never" },
        { [(SettingKeys.TlsReportSign, "missing")], SettingKeys.TlsReportSign, "setting Report:Tls:Aggregate:Sign: DKIM signature 'missing' is not defined (expected Report:Dkim:missing:Domain, :Selector, :PrivateKey)" },
        { [(SettingKeys.TlsReportContactInfo, "admin@elsewhere.example")], SettingKeys.TlsReportContactInfo, "setting Report:Tls:Aggregate:ContactInfo: 'admin@elsewhere.example' is not in the submitter's domain 'mta.sender.test' (RFC 8460 §5.3: TLS-Report-Submitter is the domain of contact-info; set Report:Submitter or the contact)" },
        { [(SettingKeys.TlsReportFromAddress, "Reports <r@mta.sender.test>")], SettingKeys.TlsReportFromAddress, "setting Report:Tls:Aggregate:FromAddress: 'Reports <r@mta.sender.test>' is not an email address (local@domain)" },
        { [(SettingKeys.ReportSubmitter, "localhost")], SettingKeys.ReportSubmitter, "setting Report:Submitter: 'localhost' is not a fully qualified domain" },
        { [(SettingKeys.TlsReportSign, "k"), ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Selector", "s1"), ("Report:Dkim:k:Algorithm", "rsa-sha1"), ("Report:Dkim:k:PrivateKey", "x")], "Report:Dkim:k:Algorithm", "setting Report:Dkim:k:Algorithm: 'rsa-sha1' is not one of rsa-sha256, ed25519-sha256" },
        { [(SettingKeys.TlsReportSign, "k"), ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Selector", "s1"), ("Report:Dkim:k:PrivateKey", "not a key")], "Report:Dkim:k:PrivateKey", "setting Report:Dkim:k:PrivateKey: not a readable rsa-sha256 PEM private key" },
        { [(SettingKeys.TlsReportSign, "k"), ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Selector", "s1")], "Report:Dkim:k:PrivateKey", "setting Report:Dkim:k:PrivateKey: is required (PEM text), or set PrivateKeyFile" },
        { [(SettingKeys.TlsReportSign, "k"), ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Key", "x")], "Report:Dkim:k:Key", "setting Report:Dkim:k:Key: unknown DKIM key; allowed: Domain, Selector, Algorithm, PrivateKey, PrivateKeyFile" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Read_BadValue_ReportsOffNamingKeyAndAllowedValues((string, string)[] values, string key, string message)
    {
        // A reporting setting never stops the app: reports are switched off and the problem is kept.
        var s = Read(values);
        Assert.NotNull(s.Problem);
        Assert.StartsWith(message, s.Problem.Message, StringComparison.Ordinal);
        Assert.Equal(key, s.Problem.Key);
        Assert.Equal(TlsReportFrequency.Never, s.Send);
        Assert.Empty(s.Sign);
    }

    [Fact]
    public void Read_UnresolvedKeyVaultReference_SaysTheSecretIsMissing()
    {
        var s = Read(
            (SettingKeys.TlsReportSend, "daily"), (SettingKeys.TlsReportSign, "k"),
            ("Report:Dkim:k:Domain", "mta.sender.test"), ("Report:Dkim:k:Selector", "s1"),
            ("Report:Dkim:k:PrivateKey", "@Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/dkim-rsa/)"));
        Assert.Equal("Report:Dkim:k:PrivateKey", s.Problem?.Key);
        Assert.StartsWith(
            "setting Report:Dkim:k:PrivateKey: the Key Vault reference @Microsoft.KeyVault(SecretUri=https://kv-x.vault.azure.net/secrets/dkim-rsa/) was not resolved",
            s.Problem?.Message,
            StringComparison.Ordinal);
    }
}
