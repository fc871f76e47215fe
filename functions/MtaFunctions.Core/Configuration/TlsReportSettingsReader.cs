using Microsoft.Extensions.Configuration;
using MimeKit;

namespace MtaFunctions.Core.Configuration;

/// <summary>Reads and checks <see cref="TlsReportSettings"/>.</summary>
public static class TlsReportSettingsReader
{
    private static readonly string[] DkimKeys = ["Domain", "Selector", "Algorithm", "PrivateKey", "PrivateKeyFile"];

    /// <summary>
    /// Reads the report settings, or, when one cannot be used, settings with reports off and
    /// <see cref="TlsReportSettings.Problem"/> saying why: a reporting setting never stops delivery.
    /// </summary>
    public static TlsReportSettings ReadOrSwitchOff(IConfiguration config, string hostname)
    {
        try
        {
            return Read(config, hostname);
        }
        catch (SettingsException e)
        {
            var fromAddress = $"noreply-tls@{hostname}";
            return new TlsReportSettings
            {
                Submitter = hostname,
                FromName = SettingsReader.Default(SettingKeys.TlsReportFromName),
                FromAddress = fromAddress,
                OrgName = hostname,
                ContactInfo = fromAddress,
                Send = TlsReportFrequency.Never,
                MaxSize = long.Parse(SettingsReader.Default(SettingKeys.TlsReportMaxSize), System.Globalization.CultureInfo.InvariantCulture),
                Sign = [],
                Problem = SettingsProblem.From(e),
            };
        }
    }

    /// <summary>Reads the report settings; <paramref name="hostname"/> is the EHLO name, the default submitter.</summary>
    /// <exception cref="SettingsException">A value is not allowed; the message names the key and the allowed values.</exception>
    public static TlsReportSettings Read(IConfiguration config, string hostname)
    {
        var submitter = SettingsReader.Text(config, SettingKeys.ReportSubmitter) is { } s
            ? Domain(SettingKeys.ReportSubmitter, s)
            : hostname;
        var fromAddress = SettingsReader.Text(config, SettingKeys.TlsReportFromAddress) is { } f
            ? Address(SettingKeys.TlsReportFromAddress, f)
            : $"noreply-tls@{submitter}";
        var contact = SettingsReader.Text(config, SettingKeys.TlsReportContactInfo) ?? fromAddress;

        // RFC 8460 §5.3: the TLS-Report-Submitter MUST be the domain of contact-info.
        var contactDomain = ContactDomain(contact);
        if (!string.Equals(contactDomain, submitter, StringComparison.OrdinalIgnoreCase))
        {
            throw new SettingsException(
                SettingKeys.TlsReportContactInfo,
                $"'{contact}' is not in the submitter's domain '{submitter}' (RFC 8460 §5.3: TLS-Report-Submitter is the domain of contact-info; set {SettingKeys.ReportSubmitter} or the contact)");
        }

        var send = SettingsReader.Enum(config, SettingKeys.TlsReportSend, TlsReportFrequency.Never);
        var maxSizeText = SettingsReader.Text(config, SettingKeys.TlsReportMaxSize) ?? SettingsReader.Default(SettingKeys.TlsReportMaxSize);
        if (!long.TryParse(maxSizeText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var maxSize)
            || maxSize < 1024)
        {
            throw new SettingsException(SettingKeys.TlsReportMaxSize, $"'{maxSizeText}' is not a size in bytes of at least 1024");
        }

        var signNames = (SettingsReader.Text(config, SettingKeys.TlsReportSign) ?? "")
            .Trim('[', ']')
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => n.Trim('\'', '"'))
            .ToList();
        if (send != TlsReportFrequency.Never && signNames.Count == 0)
        {
            throw new SettingsException(
                SettingKeys.TlsReportSign,
                "names no DKIM signature; mailed TLS reports MUST be DKIM-signed (RFC 8460 §3): define Report:Dkim:<name>:* and list the name, or set Send = never");
        }

        return new TlsReportSettings
        {
            Submitter = submitter,
            FromName = SettingsReader.Text(config, SettingKeys.TlsReportFromName) ?? SettingsReader.Default(SettingKeys.TlsReportFromName),
            FromAddress = fromAddress,
            OrgName = SettingsReader.Text(config, SettingKeys.TlsReportOrgName) ?? submitter,
            ContactInfo = contact,
            Send = send,
            MaxSize = maxSize,
            Sign = signNames.Select(n => Dkim(config, n)).ToList(),
        };
    }

    private static DkimSignatureSettings Dkim(IConfiguration config, string name)
    {
        var prefix = $"{SettingKeys.DkimSignatures}:{name}";
        var section = config.GetSection(prefix);
        if (!section.Exists())
        {
            throw new SettingsException(SettingKeys.TlsReportSign, $"DKIM signature '{name}' is not defined (expected {prefix}:Domain, :Selector, :PrivateKey)");
        }

        foreach (var child in section.GetChildren())
        {
            if (!DkimKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new SettingsException($"{prefix}:{child.Key}", $"unknown DKIM key; allowed: {string.Join(", ", DkimKeys)}");
            }
        }

        var domain = Domain($"{prefix}:Domain", SettingsReader.Text(config, $"{prefix}:Domain")
            ?? throw new SettingsException($"{prefix}:Domain", "is required"));
        var selector = SettingsReader.Text(config, $"{prefix}:Selector") ?? throw new SettingsException($"{prefix}:Selector", "is required");
        if (Uri.CheckHostName(selector) != UriHostNameType.Dns)
        {
            throw new SettingsException($"{prefix}:Selector", $"'{selector}' is not a DNS label sequence");
        }

        var algorithmText = SettingsReader.Text(config, $"{prefix}:Algorithm") ?? "rsa-sha256";
        var algorithm = algorithmText.ToLowerInvariant() switch
        {
            "rsa-sha256" => DkimAlgorithm.RsaSha256,
            "ed25519-sha256" => DkimAlgorithm.Ed25519Sha256,
            _ => throw new SettingsException($"{prefix}:Algorithm", $"'{algorithmText}' is not one of rsa-sha256, ed25519-sha256"),
        };

        string pem;
        if (SettingsReader.Text(config, $"{prefix}:PrivateKey") is { } text)
        {
            // App Service leaves a reference it cannot resolve in place: the secret does not exist yet
            // (keys are made after provisioning) or the app's identity may not read it.
            if (text.StartsWith("@Microsoft.KeyVault(", StringComparison.OrdinalIgnoreCase))
            {
                throw new SettingsException(
                    $"{prefix}:PrivateKey",
                    $"the Key Vault reference {text} was not resolved: the secret does not exist yet or the app's identity may not read it (create the keys with infra/dkim-keys.sh: azd's postprovision hook or infra/deploy.sh run it; then restart the app)");
            }

            // App settings cannot hold newlines everywhere; "\n" escapes are accepted.
            pem = text.Replace("\\n", "\n", StringComparison.Ordinal);
        }
        else if (SettingsReader.Text(config, $"{prefix}:PrivateKeyFile") is { } file)
        {
            pem = File.Exists(file) ? File.ReadAllText(file) : throw new SettingsException($"{prefix}:PrivateKeyFile", $"file '{file}' does not exist");
        }
        else
        {
            throw new SettingsException($"{prefix}:PrivateKey", "is required (PEM text), or set PrivateKeyFile");
        }

        var settings = new DkimSignatureSettings(name, domain, selector, algorithm, pem);
        try
        {
            _ = Reporting.Outbound.DkimSignerFactory.Create(settings);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or IOException or NotSupportedException)
        {
            throw new SettingsException($"{prefix}:PrivateKey", $"not a readable {settings.AlgorithmWord} PEM private key ({e.Message})");
        }

        return settings;
    }

    private static string Domain(string key, string text)
    {
        var domain = text.Trim().TrimEnd('.').ToLowerInvariant();
        return Uri.CheckHostName(domain) == UriHostNameType.Dns && domain.Contains('.', StringComparison.Ordinal)
            ? domain
            : throw new SettingsException(key, $"'{text}' is not a fully qualified domain");
    }

    private static string Address(string key, string text) =>
        MailboxAddress.TryParse(text, out var mailbox) && mailbox.Address.Contains('@', StringComparison.Ordinal) && string.IsNullOrEmpty(mailbox.Name)
            ? mailbox.Address
            : throw new SettingsException(key, $"'{text}' is not an email address (local@domain)");

    private static string ContactDomain(string contact)
    {
        var text = contact.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ? contact[7..] : contact;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http")
        {
            return uri.Host.ToLowerInvariant();
        }

        var at = text.LastIndexOf('@');
        return at > 0 && at < text.Length - 1
            ? text[(at + 1)..].TrimEnd('.').ToLowerInvariant()
            : throw new SettingsException(SettingKeys.TlsReportContactInfo, $"'{contact}' is neither an email address nor an https URI");
    }
}
