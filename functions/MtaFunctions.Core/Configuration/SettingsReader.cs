using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace MtaFunctions.Core.Configuration;

/// <summary>
/// Reads <see cref="MtaSettings"/> from configuration, with the defaults of <see cref="SettingsCatalog"/>.
/// </summary>
/// <remarks>
/// Every value is checked here, so that a bad one stops start-up with a message naming the key and what is
/// allowed, instead of failing a delivery hours later. Only delivery settings stop start-up: a bad reporting
/// setting switches its feature off (<see cref="SettingsProblem"/>) and delivery runs.
/// </remarks>
public static class SettingsReader
{
    private static readonly string[] TlsRuleKeys = ["StartTls", "AllowInvalidCerts", "Dane", "MtaSts"];

    /// <summary>Reads and checks every setting.</summary>
    /// <exception cref="SettingsException">A delivery value is not allowed; the message names the key and the allowed values.</exception>
    public static MtaSettings Read(IConfiguration config)
    {
        var tls = new TlsSettings(
            Enum(config, SettingKeys.StartTls, StartTlsMode.Optional),
            Bool(config, SettingKeys.AllowInvalidCerts, false),
            Enum(config, SettingKeys.Dane, PolicyMode.Optional),
            Enum(config, SettingKeys.MtaSts, PolicyMode.Optional));

        var extraRoots = Text(config, SettingKeys.ExtraRootCas);
        if (extraRoots is not null && !File.Exists(extraRoots))
        {
            throw new SettingsException(SettingKeys.ExtraRootCas, $"file '{extraRoots}' does not exist");
        }

        var schedule = DurationList(config, SettingKeys.RetrySchedule, Default(SettingKeys.RetrySchedule));
        var lifetime = Duration(config, SettingKeys.MessageLifetime);
        var hostname = Text(config, SettingKeys.Hostname) is { } host ? HostName(SettingKeys.Hostname, host) : System.Net.Dns.GetHostName();
        return new MtaSettings
        {
            Outbound = new OutboundSettings
            {
                Hostname = hostname,
                Tls = tls,
                Rules = Rules(config, tls),
                Relay = RouteSettingsReader.ReadRelay(config),
                Routes = RouteSettingsReader.ReadRoutes(config),
                Limits = Limits(config),
                MaxRecipientsPerTransaction = Int(config, SettingKeys.MaxRecipientsPerTransaction, 1, 1000),
                MaxMessageSize = Long(config, SettingKeys.MaxMessageSize, 1024, 1L << 32),
                RetrySchedule = schedule,
                MessageLifetime = lifetime,
                DeliveriesRetention = Retention(config, lifetime),
                SmtpPort = Int(config, SettingKeys.SmtpPort, 1, 65535),
                ConnectTimeout = Duration(config, SettingKeys.ConnectTimeout),
                CommandTimeout = Duration(config, SettingKeys.CommandTimeout),
                ExtraRootCasFile = extraRoots,
                AllowPrivateDestinations = Bool(config, SettingKeys.AllowPrivateDestinations, false),
                MaxParallelDomains = Int(config, SettingKeys.MaxParallelDomains, 1, 64),
                MaxMessagesPerConnection = Int(config, SettingKeys.MaxMessagesPerConnection, 1, 10_000),
                ConnectionIdleTime = Duration(config, SettingKeys.ConnectionIdleTime),
                EgressIps = Addresses(config, SettingKeys.EgressIps),
                MtaStsTimeout = Duration(config, SettingKeys.MtaStsTimeout),
                MtaStsPort = Int(config, SettingKeys.MtaStsPort, 1, 65535),
            },
            Dns = new DnsSettings
            {
                Servers = EndPoints(config, SettingKeys.DnsServers),
                Timeout = Duration(config, SettingKeys.DnsTimeout),
                CacheMaxTtl = Text(config, SettingKeys.DnsCacheMaxTtl) is "0" ? TimeSpan.Zero : Duration(config, SettingKeys.DnsCacheMaxTtl),
                TrustedValidators = EndPoints(config, SettingKeys.DnsTrustedValidators),
                Dnssec = Text(config, SettingKeys.DnsDnssec) is { } dnssec
                    ? dnssec.Equals("in-process", StringComparison.OrdinalIgnoreCase) ? DnssecValidation.InProcess
                    : dnssec.Equals("resolver", StringComparison.OrdinalIgnoreCase) ? DnssecValidation.Resolver
                    : throw new SettingsException(SettingKeys.DnsDnssec, $"'{dnssec}' is not one of resolver, in-process")
                    : DnssecValidation.Resolver,
                TrustAnchorsFile = Text(config, SettingKeys.DnsTrustAnchors) is { } anchors
                    ? File.Exists(anchors) ? anchors : throw new SettingsException(SettingKeys.DnsTrustAnchors, $"file '{anchors}' does not exist")
                    : null,
                DnssecProbeName = ProbeName(SettingKeys.DnsDnssecProbeName, Text(config, SettingKeys.DnsDnssecProbeName) ?? Default(SettingKeys.DnsDnssecProbeName)),
            },
            TlsRptInbound = TlsRptInboundSettings.ReadOrSwitchOff(config),
            Report = TlsReportSettingsReader.ReadOrSwitchOff(config, hostname),
        };
    }

    /// <summary>The catalog default of a key.</summary>
    public static string Default(string key) => SettingsCatalog.All.First(s => s.Key == key).Default;

    /// <summary>A trimmed value, or null when unset or blank.</summary>
    public static string? Text(IConfiguration config, string key) =>
        config[key] is { } v && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

    /// <summary>A keyword setting; words are matched case-insensitively against the enum's names.</summary>
    public static T Enum<T>(IConfiguration config, string key, T fallback)
        where T : struct, System.Enum
    {
        var text = Text(config, key);
        if (text is null)
        {
            return fallback;
        }

        foreach (var value in System.Enum.GetValues<T>())
        {
            if (string.Equals(Word(value), text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw new SettingsException(key, $"'{text}' is not one of {string.Join(", ", System.Enum.GetValues<T>().Select(Word))}");
    }

    /// <summary>The settings word of an enum value: its name in lower case.</summary>
    public static string Word<T>(T value)
        where T : struct, System.Enum => value.ToString().ToLowerInvariant();

    public static bool Bool(IConfiguration config, string key, bool fallback)
    {
        var text = Text(config, key);
        return text is null ? fallback
            : bool.TryParse(text, out var b) ? b
            : throw new SettingsException(key, $"'{text}' is not one of true, false");
    }

    public static int Int(IConfiguration config, string key, int min, int max)
    {
        var text = Text(config, key) ?? Default(key);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new SettingsException(key, $"'{text}' is not an integer in {min}..{max}");
    }

    public static long Long(IConfiguration config, string key, long min, long max)
    {
        var text = Text(config, key) ?? Default(key);
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
            ? n
            : throw new SettingsException(key, $"'{text}' is not an integer in {min}..{max}");
    }

    // Rows of a message still being retried must outlive it: its state is what keeps a recipient from a second copy.
    private static TimeSpan Retention(IConfiguration config, TimeSpan lifetime)
    {
        if (Text(config, SettingKeys.DeliveriesRetention) is "0")
        {
            return TimeSpan.Zero;
        }

        var retention = Duration(config, SettingKeys.DeliveriesRetention);
        return retention >= lifetime + TimeSpan.FromDays(1)
            ? retention
            : throw new SettingsException(SettingKeys.DeliveriesRetention,
                $"'{Text(config, SettingKeys.DeliveriesRetention)}' must be at least a day longer than {SettingKeys.MessageLifetime} ({lifetime.TotalDays:0.##}d): rows of messages still being retried would go; 0 keeps rows forever");
    }

    public static TimeSpan Duration(IConfiguration config, string key) =>
        ParseDuration(key, Text(config, key) ?? Default(key));

    private static IReadOnlyList<TimeSpan> DurationList(IConfiguration config, string key, string fallback)
    {
        var list = (Text(config, key) ?? fallback)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => ParseDuration(key, d))
            .ToList();
        return list.Count > 0 ? list : throw new SettingsException(key, "needs at least one duration");
    }

    /// <summary>Parses <c>90s</c>, <c>5m</c>, <c>2h</c>, <c>5d</c> or a TimeSpan (<c>00:05:00</c>); must be positive.</summary>
    /// <exception cref="SettingsException">Not a positive duration.</exception>
    public static TimeSpan ParseDuration(string key, string text)
    {
        var units = new Dictionary<char, double> { ['s'] = 1, ['m'] = 60, ['h'] = 3600, ['d'] = 86400 };
        TimeSpan result;
        if (text.Length > 1 && units.TryGetValue(char.ToLowerInvariant(text[^1]), out var scale)
            && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount))
        {
            result = TimeSpan.FromSeconds(amount * scale);
        }
        else if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out result))
        {
            throw new SettingsException(key, $"'{text}' is not a duration such as 30s, 5m, 2h, 5d or 00:05:00");
        }

        return result > TimeSpan.Zero ? result : throw new SettingsException(key, $"'{text}' must be positive");
    }

    private static string HostName(string key, string host) =>
        Uri.CheckHostName(host) == UriHostNameType.Dns && host.Contains('.', StringComparison.Ordinal)
            ? host.TrimEnd('.').ToLowerInvariant()
            : throw new SettingsException(key, $"'{host}' is not a fully qualified host name");

    private static string ProbeName(string key, string name) =>
        name == "." || Uri.CheckHostName(name.TrimEnd('.')) == UriHostNameType.Dns
            ? name
            : throw new SettingsException(key, $"'{name}' is not a DNS name (or \".\" for the root)");

    private static IReadOnlyList<IPAddress> Addresses(IConfiguration config, string key) =>
        (Text(config, key) ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(item => IPAddress.TryParse(item, out var address) && item.Contains(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? '.' : ':')
                ? address
                : throw new SettingsException(key, $"'{item}' is not an IP address (203.0.113.7, 2001:db8::7)"))
            .ToList();

    private static IReadOnlyList<IPEndPoint> EndPoints(IConfiguration config, string key)
    {
        var text = Text(config, key);
        if (text is null)
        {
            return [];
        }

        var list = new List<IPEndPoint>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (IPEndPoint.TryParse(item, out var ep))
            {
                list.Add(ep.Port == 0 ? new IPEndPoint(ep.Address, 53) : ep);
            }
            else
            {
                throw new SettingsException(key, $"'{item}' is not an IP address with an optional port (9.9.9.9, 127.0.0.1:5353, [::1]:53)");
            }
        }

        return list;
    }

    private static DestinationLimitSettings Limits(IConfiguration config)
    {
        var defaults = new DestinationLimit(Int(config, SettingKeys.LimitsMaxConnections, 1, 1000), Int(config, SettingKeys.LimitsMessagesPerMinute, 0, 1_000_000));
        var rules = new Dictionary<string, DestinationLimit>(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in DomainRuleSections.Read(config, SettingKeys.LimitsRules, ["MaxConnections", "MessagesPerMinute"], allowDomainNames: false))
        {
            rules[rule.Domain] = new DestinationLimit(
                Text(config, $"{rule.Path}:MaxConnections") is null ? defaults.MaxConnections : Int(config, $"{rule.Path}:MaxConnections", 1, 1000),
                Text(config, $"{rule.Path}:MessagesPerMinute") is null ? defaults.MessagesPerMinute : Int(config, $"{rule.Path}:MessagesPerMinute", 0, 1_000_000));
        }

        return new DestinationLimitSettings
        {
            Default = defaults,
            MaxWait = Duration(config, SettingKeys.LimitsMaxWait),
            BusyRecovery = Duration(config, SettingKeys.LimitsBusyRecovery),
            Rules = rules,
        };
    }

    private static IReadOnlyDictionary<string, TlsSettings> Rules(IConfiguration config, TlsSettings defaults)
    {
        var rules = new Dictionary<string, TlsSettings>(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in DomainRuleSections.Read(config, SettingKeys.TlsRules, TlsRuleKeys, allowDomainNames: true))
        {
            rules[rule.Domain] = new TlsSettings(
                Enum(config, $"{rule.Path}:StartTls", defaults.StartTls),
                Bool(config, $"{rule.Path}:AllowInvalidCerts", defaults.AllowInvalidCerts),
                Enum(config, $"{rule.Path}:Dane", defaults.Dane),
                Enum(config, $"{rule.Path}:MtaSts", defaults.MtaSts));
        }

        return rules;
    }
}
