using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace MtaFunctions.Core.Configuration;

/// <summary>Reads the global relay (<c>Queue:Outbound:Relay:*</c>) and the per-domain routes (<c>Queue:Outbound:Routes:&lt;n&gt;:*</c>).</summary>
public static class RouteSettingsReader
{
    /// <summary>Keys of a route (a per-domain route has <c>Domain</c> besides).</summary>
    public static IReadOnlyList<string> RouteKeys { get; } =
        ["Host", "Mx", "ImplicitTls", "StartTls", "AllowInvalidCerts", "Username", "Password", "MaxConnections", "MessagesPerMinute"];

    /// <summary>The global relay, or null when <c>Queue:Outbound:Relay:Host</c> and <c>:Mx</c> are unset.</summary>
    /// <exception cref="SettingsException">A key of the relay is not allowed.</exception>
    public static DeliveryRoute? ReadRelay(IConfiguration config)
    {
        foreach (var child in config.GetSection(SettingKeys.Relay).GetChildren())
        {
            if (!RouteKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new SettingsException($"{SettingKeys.Relay}:{child.Key}", $"unknown relay key; allowed: {string.Join(", ", RouteKeys)}");
            }
        }

        return SettingsReader.Text(config, $"{SettingKeys.Relay}:Host") is null && SettingsReader.Text(config, $"{SettingKeys.Relay}:Mx") is null
            ? null
            : Read(config, SettingKeys.Relay);
    }

    /// <summary>Per-domain routes keyed by lower-case domain or <c>*.domain</c>.</summary>
    /// <exception cref="SettingsException">An entry or one of its keys is not allowed.</exception>
    public static IReadOnlyDictionary<string, DeliveryRoute> ReadRoutes(IConfiguration config)
    {
        var routes = new Dictionary<string, DeliveryRoute>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in DomainRuleSections.Read(config, SettingKeys.Routes, RouteKeys, allowDomainNames: false))
        {
            routes[entry.Domain] = Read(config, entry.Path);
        }

        return routes;
    }

    private static DeliveryRoute Read(IConfiguration config, string path)
    {
        var hostText = SettingsReader.Text(config, $"{path}:Host");
        var mxText = SettingsReader.Text(config, $"{path}:Mx");
        if ((hostText is null) == (mxText is null))
        {
            throw new SettingsException(path, $"set exactly one of {path}:Host (host[:port], no MX lookup) and {path}:Mx (a domain whose MX hosts are used)");
        }

        var implicitTls = SettingsReader.Bool(config, $"{path}:ImplicitTls", false);
        var startTls = SettingsReader.Enum(config, $"{path}:StartTls", StartTlsMode.Require);
        var (host, port) = hostText is null ? (null, 25) : HostAndPort($"{path}:Host", hostText, implicitTls ? 465 : 25);
        string? mx = null;
        if (mxText is not null)
        {
            mx = mxText.TrimEnd('.').ToLowerInvariant();
            if (Uri.CheckHostName(mx) != UriHostNameType.Dns)
            {
                throw new SettingsException($"{path}:Mx", $"'{mxText}' is not a domain");
            }
        }

        var username = SettingsReader.Text(config, $"{path}:Username");
        var password = config[$"{path}:Password"] is { Length: > 0 } p ? p : null;
        if ((username is null) != (password is null))
        {
            throw new SettingsException($"{path}:{(username is null ? "Username" : "Password")}", "SMTP AUTH needs both Username and Password");
        }

        // RFC 4954 §4 / RFC 8314 §4: credentials go only over TLS, so AUTH needs TLS that cannot be skipped.
        if (username is not null && !implicitTls && startTls != StartTlsMode.Require)
        {
            throw new SettingsException($"{path}:StartTls", $"'{SettingsReader.Word(startTls)}' with Username set: AUTH is only sent over TLS; use require or ImplicitTls=true");
        }

        return new DeliveryRoute
        {
            Name = path,
            Host = host,
            Port = port,
            MxDomain = mx,
            ImplicitTls = implicitTls,
            StartTls = startTls,
            AllowInvalidCerts = SettingsReader.Bool(config, $"{path}:AllowInvalidCerts", false),
            Username = username,
            Password = password,
            MaxConnections = OptionalInt(config, $"{path}:MaxConnections", 1, 1000),
            MessagesPerMinute = OptionalInt(config, $"{path}:MessagesPerMinute", 0, 1_000_000),
        };
    }

    /// <summary>Parses <c>host</c>, <c>host:port</c>, <c>[host]:port</c> (Postfix style), <c>1.2.3.4:25</c>, <c>[::1]:2525</c>.</summary>
    /// <exception cref="SettingsException">Not a host name or IP address with an optional port in 1..65535.</exception>
    public static (string Host, int Port) HostAndPort(string key, string text, int defaultPort)
    {
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            host = close > 1 ? text[1..close] : "";
            var rest = close > 0 ? text[(close + 1)..] : "";
            if (rest.Length > 0)
            {
                port = rest.StartsWith(':') ? rest[1..] : null;
                host = port is null ? "" : host;
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            host = text[..text.IndexOf(':', StringComparison.Ordinal)];
            port = text[(text.IndexOf(':', StringComparison.Ordinal) + 1)..];
        }
        else
        {
            host = text;
        }

        host = host.TrimEnd('.');
        var valid = Uri.CheckHostName(host) is UriHostNameType.Dns or UriHostNameType.IPv4 || (Uri.CheckHostName(host) == UriHostNameType.IPv6 && IPAddress.TryParse(host, out _));
        var portNumber = defaultPort;
        if (!valid || (port is not null && !(int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out portNumber) && portNumber is >= 1 and <= 65535)))
        {
            throw new SettingsException(key, $"'{text}' is not host[:port] (smtp.example.com:587, [smtp.example.com]:587, 192.0.2.1:25, [::1]:2525)");
        }

        return (host.ToLowerInvariant(), portNumber);
    }

    private static int? OptionalInt(IConfiguration config, string key, int min, int max)
    {
        var text = SettingsReader.Text(config, key);
        return text is null ? null
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max ? n
            : throw new SettingsException(key, $"'{text}' is not an integer in {min}..{max}");
    }
}
