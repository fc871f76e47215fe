using Microsoft.Extensions.Configuration;

namespace MtaFunctions.Core.Configuration;

/// <summary>Settings of the inbound TLS-RPT endpoints (<c>Report:Tls:Inbound:*</c>).</summary>
public sealed record TlsRptInboundSettings
{
    /// <summary>The defaults of <see cref="SettingsCatalog"/>: no domains (every report refused), anonymous POST.</summary>
    public static TlsRptInboundSettings Default { get; } = new()
    {
        Domains = [],
        Key = null,
        MaxBodySize = 5_242_880,
        MaxReportSize = 20_971_520,
        MaxMessageSize = 10_485_760,
        FailureRateWarningPercent = 10,
        DecodeMemory = 268_435_456,
    };

    /// <summary>Our domains, lower case A-labels: reports about these and their subdomains are accepted.</summary>
    public required IReadOnlyList<string> Domains { get; init; }

    /// <summary>The key POST /api/tlsrpt requires in its URL (<c>?key=</c>); null = anonymous.</summary>
    public string? Key { get; init; }

    /// <summary>Largest request body (compressed report) in bytes.</summary>
    public required long MaxBodySize { get; init; }

    /// <summary>Largest decompressed report in bytes.</summary>
    public required long MaxReportSize { get; init; }

    /// <summary>Largest mailed report message in bytes.</summary>
    public required long MaxMessageSize { get; init; }

    /// <summary>Failure percentage of a domain's UTC day above which a warning is raised.</summary>
    public required int FailureRateWarningPercent { get; init; }

    /// <summary>Bytes all reports being decompressed, read and stored at once may use together (<see cref="Reporting.Inbound.DecodeMemoryBudget"/>).</summary>
    public required long DecodeMemory { get; init; }

    /// <summary>Set when a setting could not be used: no domains then (every report refused), and this says why.</summary>
    public SettingsProblem? Problem { get; init; }

    /// <summary>True when <paramref name="policyDomain"/> is one of <see cref="Domains"/> or a subdomain of one (DANE policy domains are MX hosts).</summary>
    public bool IsOurs(string policyDomain)
    {
        var domain = policyDomain.TrimEnd('.').ToLowerInvariant();
        return Domains.Any(d => domain == d || domain.EndsWith("." + d, StringComparison.Ordinal));
    }

    /// <summary>
    /// Reads the settings, or, when one cannot be used, the defaults (no domains: every report refused) with
    /// <see cref="Problem"/> saying why: a reporting setting never stops delivery.
    /// </summary>
    public static TlsRptInboundSettings ReadOrSwitchOff(IConfiguration config)
    {
        try
        {
            return Read(config);
        }
        catch (SettingsException e)
        {
            return Default with { Problem = SettingsProblem.From(e) };
        }
    }

    /// <summary>Reads and checks the <c>Report:Tls:Inbound:*</c> keys.</summary>
    /// <exception cref="SettingsException">A value is not allowed; the message names the key and the allowed values.</exception>
    public static TlsRptInboundSettings Read(IConfiguration config)
    {
        var domains = new List<string>();
        var idn = new System.Globalization.IdnMapping();
        foreach (var item in (SettingsReader.Text(config, SettingKeys.TlsRptInboundDomains) ?? "")
                     .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string ascii;
            try
            {
                ascii = idn.GetAscii(item.TrimEnd('.')).ToLowerInvariant();
            }
            catch (ArgumentException)
            {
                ascii = "";
            }

            if (Uri.CheckHostName(ascii) != UriHostNameType.Dns)
            {
                throw new SettingsException(SettingKeys.TlsRptInboundDomains, $"'{item}' is not a domain name (a comma-separated list such as example.com, example.net)");
            }

            domains.Add(ascii);
        }

        var key = SettingsReader.Text(config, SettingKeys.TlsRptInboundKey);
        if (key is not null && (key.Length < 16 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
        {
            throw new SettingsException(SettingKeys.TlsRptInboundKey, "must be at least 16 characters of A-Z, a-z, 0-9, '-' and '_' (it travels in a URL)");
        }

        return new TlsRptInboundSettings
        {
            Domains = domains.Distinct().ToList(),
            Key = key,
            MaxBodySize = SettingsReader.Int(config, SettingKeys.TlsRptInboundMaxBodySize, 1024, 1_073_741_824),
            MaxReportSize = SettingsReader.Int(config, SettingKeys.TlsRptInboundMaxReportSize, 1024, 1_073_741_824),
            MaxMessageSize = SettingsReader.Int(config, SettingKeys.TlsRptInboundMaxMessageSize, 1024, 1_073_741_824),
            FailureRateWarningPercent = SettingsReader.Int(config, SettingKeys.TlsRptInboundFailureRateWarning, 0, 100),
            DecodeMemory = SettingsReader.Int(config, SettingKeys.TlsRptInboundDecodeMemory, 1_048_576, int.MaxValue),
        };
    }
}
