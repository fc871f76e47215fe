using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// Every setting the code reads (<see cref="SettingsCatalog.All"/>) is set by the Bicep app settings,
/// listed in <c>local.settings.json.example</c> and documented in README, so the four never drift.
/// A key with a <c>&lt;placeholder&gt;</c> segment (e.g. <c>Report:Dkim:&lt;name&gt;:Domain</c>) is matched by
/// any concrete or interpolated name in that place.
/// </summary>
public sealed partial class SettingsDriftTests
{
    /// <summary>Every catalog key, the indexed per-domain lists (<c>Rules:&lt;n&gt;:Domain</c>) included.</summary>
    public static TheoryData<string> CatalogKeys { get; } = new(SettingsCatalog.All.Select(s => s.Key));

    private static readonly Lazy<IReadOnlyList<string>> BicepSettingNames = new(ReadBicepSettingNames);
    private static readonly Lazy<IReadOnlyList<string>> ExampleSettingNames = new(ReadExampleSettingNames);
    private static readonly Lazy<string> Readme = new(() => File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md")));

    // The first name of each row of README's settings table (`A` / `__B` rows name A).
    private static readonly Lazy<IReadOnlyList<string>> ReadmeSettingsTable = new(() =>
        Readme.Value.Split('\n').SkipWhile(l => l.TrimEnd('\r') != "| setting | default | meaning |").Skip(2)
            .TakeWhile(l => l.StartsWith('|'))
            .Select(l => SettingRow().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value)
            .ToList());

    /// <summary>Catalog keys the Function App reads: all checked ones but LocalHost's own (its Kestrel port).</summary>
    public static TheoryData<string> FunctionAppKeys { get; } = new(
        SettingsCatalog.All
            .Where(s => !s.Key.StartsWith("LocalHost:", StringComparison.Ordinal))
            .Select(s => s.Key));

    [Theory]
    [MemberData(nameof(FunctionAppKeys))]
    public void Catalog_Key_IsSetInBicepAppSettings(string key)
    {
        var pattern = EnvironmentNamePattern(key);
        Assert.True(
            BicepSettingNames.Value.Any(pattern.IsMatch),
            $"{Definition(key).EnvironmentName} is not set in bicep/app/settings.bicep (add one line with its default or a parameter)");
    }

    [Theory]
    [MemberData(nameof(CatalogKeys))]
    public void Catalog_Key_IsInLocalSettingsExample(string key)
    {
        var pattern = EnvironmentNamePattern(key);
        Assert.True(
            ExampleSettingNames.Value.Any(pattern.IsMatch),
            $"{Definition(key).EnvironmentName} is missing from local.settings.json.example");
    }

    [Theory]
    [MemberData(nameof(CatalogKeys))]
    public void Catalog_Key_IsARowOfReadmesSettingsTable(string key)
    {
        var pattern = EnvironmentNamePattern(key);
        Assert.True(
            ReadmeSettingsTable.Value.Any(pattern.IsMatch),
            $"README's settings table has no row for `{Definition(key).EnvironmentName}`");
    }

    [Fact]
    public void Readme_EverySettingRow_IsInTheOneSettingsTable()
    {
        // One table with a header row: a setting row anywhere else (a second table, a headerless fragment
        // that renders as raw pipes) fails.
        var lines = Readme.Value.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var header = lines.FindIndex(l => l == "| setting | default | meaning |");
        Assert.True(header >= 0 && lines[header + 1] == "|---|---|---|", "README has no settings table with a header row");
        var end = lines.FindIndex(header + 2, l => !l.StartsWith('|'));
        var outside = lines.Select((line, index) => (line, index))
            .Where(l => (l.index < header || l.index >= end) && SettingRow().IsMatch(l.line))
            .Select(l => $"line {l.index + 1}: {l.line}")
            .ToList();
        Assert.True(outside.Count == 0, "setting rows outside README's settings table:\n" + string.Join('\n', outside));
        Assert.Equal(1, lines.Count(l => l == "| setting | default | meaning |"));
    }

    [Fact]
    public void ReadmeSettingsTable_EveryRow_IsACatalogSetting()
    {
        var catalog = SettingsCatalog.All.Select(s => EnvironmentNamePattern(s.Key)).ToList();
        Assert.All(ReadmeSettingsTable.Value, name => Assert.True(
            catalog.Any(pattern => pattern.IsMatch(name) || pattern.IsMatch(name.Replace("<", "", StringComparison.Ordinal).Replace(">", "", StringComparison.Ordinal))),
            $"README documents `{name}`, which the settings catalog does not list"));
    }

    [Fact]
    public void SettingNames_AreValidAppSettingNamesOnEveryPlan()
    {
        // Azure app-setting names on Linux plans: letters, digits and '_' only (no '-', '.', '*'), so no domain
        // can be part of a name; Bicep's interpolated parts (*) are indexes.
        var names = ExampleSettingNames.Value.Concat(BicepSettingNames.Value.Select(n => n.Replace("*", "0", StringComparison.Ordinal))).ToList();
        Assert.Contains("Queue__Outbound__Tls__Rules__0__Domain", names);
        Assert.All(names, name => Assert.Matches("^[A-Za-z_][A-Za-z0-9_]*$", name));
    }

    [Fact]
    public void ExampleSettings_AreReadWithoutError()
    {
        var values = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.json.example")))!["Values"]!.AsObject()
            .Select(pair => new KeyValuePair<string, string?>(pair.Key.Replace("__", ":", StringComparison.Ordinal), (string?)pair.Value));
        var settings = SettingsReader.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        Assert.NotEmpty(settings.Outbound.Rules);
        Assert.NotNull(settings.Outbound.Relay);
    }

    [Fact]
    public void BicepLiteralValues_EqualTheCatalogDefaults()
    {
        // A setting Bicep writes as a literal (not a parameter) must say what the code defaults to.
        var literals = File.ReadLines(Path.Combine(RepoPaths.Root, "bicep", "app", "settings.bicep"))
            .Select(line => BicepLiteralSetting().Match(line))
            .Where(match => match.Success)
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["value"].Value);
        var compared = SettingsCatalog.All.Where(s => literals.ContainsKey(s.EnvironmentName)).ToList();

        Assert.Contains(compared, s => s.Key == SettingKeys.RetrySchedule);
        Assert.All(compared, s => Assert.True(
            literals[s.EnvironmentName] == s.Default,
            $"settings.bicep sets {s.EnvironmentName} to '{literals[s.EnvironmentName]}', the catalog default is '{s.Default}'"));
    }

    [Fact]
    public void CatalogKeys_IncludeTheTransportSecurityKeys()
    {
        // Guards the theories above against an empty or filtered-away catalog.
        Assert.Contains(SettingKeys.Dane, CatalogKeys.Select(row => row.Data));
        Assert.Contains(SettingKeys.DnsServers, CatalogKeys.Select(row => row.Data));
    }

    [Theory]
    [InlineData("Queue__Outbound__Tls__Dane", "Queue:Outbound:Tls:Dane", true)]
    [InlineData("Queue__Outbound__Tls__DaneX", "Queue:Outbound:Tls:Dane", false)]
    [InlineData("Report__Dkim__*__Domain", "Report:Dkim:<name>:Domain", true)]
    [InlineData("Report__Dkim__rsa__Domain", "Report:Dkim:<name>:Domain", true)]
    [InlineData("Report__Dkim____Domain", "Report:Dkim:<name>:Domain", false)]
    public void EnvironmentNamePattern_Placeholders_MatchAnyName(string settingName, string key, bool matches) =>
        Assert.Equal(matches, EnvironmentNamePattern(key).IsMatch(settingName));

    private static SettingDefinition Definition(string key) => SettingsCatalog.All.Single(s => s.Key == key);

    // "Report:Dkim:<name>:Domain" -> ^Report__Dkim__.+__Domain$ ; Bicep's 'Report__Dkim__${s.name}__Domain' reads as Report__Dkim__*__Domain.
    private static Regex EnvironmentNamePattern(string key)
    {
        var name = key.Replace(":", "__", StringComparison.Ordinal);
        var parts = Placeholder().Split(name).Select(Regex.Escape);
        return new Regex("^" + string.Join(".+", parts) + "$", RegexOptions.CultureInvariant);
    }

    private static IReadOnlyList<string> ReadBicepSettingNames() =>
        Directory.GetFiles(Path.Combine(RepoPaths.Root, "bicep"), "*.bicep", SearchOption.AllDirectories)
            .SelectMany(File.ReadLines)
            .Select(line => BicepObjectKey().Match(line))
            .Where(match => match.Success)
            .Select(match => Interpolation().Replace(match.Groups["name"].Value, "*"))
            .Where(name => name.Contains("__", StringComparison.Ordinal))
            .ToList();

    private static IReadOnlyList<string> ReadExampleSettingNames()
    {
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.json.example")))!;
        return example["Values"]!.AsObject().Select(pair => pair.Key).ToList();
    }

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Placeholder();

    [GeneratedRegex(@"^\| `(?<name>(Queue|Report|Dns|LocalHost)__[^`]+)`")]
    private static partial Regex SettingRow();

    // An object property line: `Name: value` or `'Name${x}Rest': value`.
    [GeneratedRegex(@"^\s*'?(?<name>[A-Za-z0-9_]*(?:\$\{[^}]*\}[A-Za-z0-9_]*)*)'?\s*:")]
    private static partial Regex BicepObjectKey();

    // `Name: 'literal'` (a whole line).
    [GeneratedRegex(@"^\s*(?<name>[A-Za-z0-9_]+):\s*'(?<value>[^']*)'\s*$")]
    private static partial Regex BicepLiteralSetting();

    [GeneratedRegex(@"\$\{[^}]*\}")]
    private static partial Regex Interpolation();
}
