using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// Every parameter of <c>bicep/main.bicep</c> is named in README's parameter table, and every name there is a
/// parameter, so a deployer reading the README sees everything the template takes.
/// </summary>
public sealed partial class ParametersDriftTests
{
    private const string TableHeader = "| parameter | default | meaning |";

    [Fact]
    public void MainBicep_EveryParameter_IsInReadmesParameterTable()
    {
        var documented = ReadmeParameterNames();
        var missing = BicepParameterNames().Where(p => !documented.Contains(p)).ToList();
        Assert.True(missing.Count == 0, $"parameters of bicep/main.bicep missing from README's table: {string.Join(", ", missing)}");
    }

    [Fact]
    public void ReadmeParameterTable_EveryName_IsAParameter()
    {
        var parameters = BicepParameterNames().ToHashSet(StringComparer.Ordinal);
        var unknown = ReadmeParameterNames().Where(p => !parameters.Contains(p)).ToList();
        Assert.True(unknown.Count == 0, $"README's parameter table names what bicep/main.bicep does not take: {string.Join(", ", unknown)}");
    }

    private static IReadOnlyList<string> BicepParameterNames() =>
        File.ReadAllLines(Path.Combine(RepoPaths.Root, "bicep", "main.bicep"))
            .Select(l => BicepParam().Match(l))
            .Where(m => m.Success)
            .Select(m => m.Groups["name"].Value)
            .ToList();

    // Only the first cell of each row names parameters; it may list several (`a`, `b`, ...).
    private static HashSet<string> ReadmeParameterNames()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "README.md"));
        var rows = lines.SkipWhile(l => l.TrimEnd() != TableHeader).Skip(2).TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.NotEmpty(rows);
        return rows
            .SelectMany(r => CodeSpan().Matches(r.Split('|')[1]).Select(m => m.Groups["name"].Value))
            .ToHashSet(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"^param\s+(?<name>[A-Za-z][A-Za-z0-9]*)\s")]
    private static partial Regex BicepParam();

    [GeneratedRegex(@"`(?<name>[A-Za-z][A-Za-z0-9]*)`")]
    private static partial Regex CodeSpan();
}
