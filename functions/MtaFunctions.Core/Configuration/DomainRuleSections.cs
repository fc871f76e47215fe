using Microsoft.Extensions.Configuration;

namespace MtaFunctions.Core.Configuration;

/// <summary>One per-domain entry of a rule list: its domain (or <c>*.domain</c>) and the configuration path of its keys.</summary>
/// <param name="Domain">Lower-case domain or <c>*.domain</c>, no trailing dot.</param>
/// <param name="Path">Configuration path of the entry (<c>Queue:Outbound:Tls:Rules:0</c>).</param>
public sealed record DomainRuleSection(string Domain, string Path);

/// <summary>
/// Reads a per-domain list in the form Azure app settings allow everywhere: an indexed list whose entries name
/// their domain (<c>Queue__Outbound__Tls__Rules__0__Domain=my-domain.com</c>, then the entry's other keys).
/// </summary>
/// <remarks>
/// App-setting names in Azure may only hold letters, digits, <c>_</c> and <c>.</c> (on Linux plans not even the
/// dot), so a domain cannot be part of the name (<c>Rules__my-domain.com__Dane</c>, <c>Rules__*.bank.example__Dane</c>).
/// The older form with the domain as the section name is still read where allowed, for settings written before.
/// </remarks>
public static class DomainRuleSections
{
    /// <summary>The key of an entry that names its domain.</summary>
    public const string DomainKey = "Domain";

    /// <summary>Reads the entries under <paramref name="prefix"/>.</summary>
    /// <param name="config">Configuration.</param>
    /// <param name="prefix">Section of the list, e.g. <see cref="SettingKeys.TlsRules"/>.</param>
    /// <param name="keys">Keys an entry may have besides <see cref="DomainKey"/>.</param>
    /// <param name="allowDomainNames">Also accept the older form <c>prefix:&lt;domain&gt;:&lt;key&gt;</c>.</param>
    /// <exception cref="SettingsException">An entry has no or a bad domain, a domain appears twice, or a key is unknown.</exception>
    public static IReadOnlyList<DomainRuleSection> Read(IConfiguration config, string prefix, IReadOnlyList<string> keys, bool allowDomainNames)
    {
        var entries = new List<DomainRuleSection>();
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in config.GetSection(prefix).GetChildren())
        {
            var path = $"{prefix}:{entry.Key}";
            var indexed = entry.Key.All(char.IsAsciiDigit);
            string domainText;
            if (indexed)
            {
                domainText = SettingsReader.Text(config, $"{path}:{DomainKey}")
                    ?? throw new SettingsException($"{path}:{DomainKey}", "missing: each entry names its destination domain (my-domain.com or *.my-domain.com)");
            }
            else if (allowDomainNames)
            {
                domainText = entry.Key;
            }
            else
            {
                throw new SettingsException(path, $"'{entry.Key}' is not an index; write {prefix}:0:{DomainKey}=<domain> and the entry's keys beside it");
            }

            var domain = domainText.TrimEnd('.').ToLowerInvariant();
            var bare = domain.StartsWith("*.", StringComparison.Ordinal) ? domain[2..] : domain;
            if (Uri.CheckHostName(bare) != UriHostNameType.Dns)
            {
                throw new SettingsException(indexed ? $"{path}:{DomainKey}" : path, $"'{domainText}' is not a domain or *.domain");
            }

            foreach (var child in entry.GetChildren())
            {
                var known = keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase)
                    || (indexed && child.Key.Equals(DomainKey, StringComparison.OrdinalIgnoreCase));
                if (!known)
                {
                    throw new SettingsException($"{path}:{child.Key}", $"unknown rule key; allowed: {string.Join(", ", indexed ? keys.Prepend(DomainKey) : keys)}");
                }
            }

            if (seen.TryGetValue(domain, out var first))
            {
                throw new SettingsException(path, $"domain '{domain}' is already set by {first}");
            }

            seen[domain] = path;
            entries.Add(new DomainRuleSection(domain, path));
        }

        return entries;
    }

    /// <summary>The value for an exact domain, else the nearest <c>*.parent</c> entry, else null.</summary>
    public static T? Match<T>(IReadOnlyDictionary<string, T> byDomain, string domain)
        where T : class
    {
        domain = domain.TrimEnd('.').ToLowerInvariant();
        if (byDomain.TryGetValue(domain, out var exact))
        {
            return exact;
        }

        for (var dot = domain.IndexOf('.', StringComparison.Ordinal); dot >= 0; dot = domain.IndexOf('.', dot + 1))
        {
            if (byDomain.TryGetValue("*" + domain[dot..], out var wildcard))
            {
                return wildcard;
            }
        }

        return null;
    }
}
