using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// What a deployment of <c>bicep/main.bicep</c> would create, evaluated offline by <c>bicep snapshot</c>
/// (the Bicep CLI the tests already use): parameters as azd passes them (<c>bicep/main.parameters.json</c>
/// with <c>${VAR}</c> / <c>${VAR=default}</c> taken from an azd environment), every template expression
/// evaluated except those that need a deployed resource (<c>reference(...)</c>: vault URI, client id, ...).
/// </summary>
public sealed partial class BicepSnapshot
{
    /// <summary>The subscription the snapshot pretends to deploy to.</summary>
    public const string SubscriptionId = "00000000-0000-0000-0000-00000000a001";

    private BicepSnapshot(JsonObject json, IReadOnlyDictionary<string, string> parameters)
    {
        Json = json;
        Parameters = parameters;
    }

    /// <summary>The snapshot JSON (<c>predictedResources</c>, <c>outputs</c>, <c>diagnostics</c>).</summary>
    public JsonObject Json { get; }

    /// <summary>The parameter values given to the template (after azd's substitution).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    // One evaluation per distinct environment for the whole run (a snapshot takes seconds; tests only read it).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<BicepSnapshot>>> Cache = new(StringComparer.Ordinal);

    /// <summary>Evaluates the template for an azd environment (e.g. AZURE_ENV_NAME, AZURE_LOCATION, MAIL_DOMAIN).</summary>
    public static Task<BicepSnapshot> OfAzdEnvironmentAsync(IReadOnlyDictionary<string, string> azdEnvironment)
    {
        var key = string.Join('\n', azdEnvironment.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"{v.Key}={v.Value}"));
        return Cache.GetOrAdd(key, _ => new Lazy<Task<BicepSnapshot>>(() => EvaluateAsync(azdEnvironment))).Value;
    }

    private static async Task<BicepSnapshot> EvaluateAsync(IReadOnlyDictionary<string, string> azdEnvironment)
    {
        var bicepDirectory = Path.Combine(RepoPaths.Root, "bicep");
        var types = ParameterTypes(File.ReadAllText(Path.Combine(bicepDirectory, "main.bicep")));
        var given = JsonNode.Parse(File.ReadAllText(Path.Combine(bicepDirectory, "main.parameters.json")))!["parameters"]!.AsObject();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in given)
        {
            var value = AzdSubstitution().Replace((string)node!["value"]!, m =>
                azdEnvironment.TryGetValue(m.Groups["name"].Value, out var v) && v.Length > 0 ? v : m.Groups["default"].Value);
            parameters[name] = value;
        }

        var work = Directory.CreateTempSubdirectory("mta-bicep-snapshot-").FullName;
        try
        {
            var file = Path.Combine(work, "azd.bicepparam");
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"using '{Path.GetRelativePath(work, Path.Combine(bicepDirectory, "main.bicep")).Replace('\\', '/')}'\n");
            foreach (var (name, value) in parameters)
            {
                var literal = types[name] switch
                {
                    "string" => $"'{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'",
                    "bool" or "int" when value.Length == 0 => null,
                    "bool" => bool.Parse(value) ? "true" : "false",
                    "int" => int.Parse(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture),
                    var other => throw new NotSupportedException($"parameter {name} of type {other} in main.parameters.json"),
                };
                if (literal is not null)
                {
                    text.Append(CultureInfo.InvariantCulture, $"param {name} = {literal}\n");
                }
            }

            await File.WriteAllTextAsync(file, text.ToString());
            var result = await BicepCli.RunAsync(
                work, "snapshot", file, "--mode", "overwrite", "--subscription-id", SubscriptionId,
                "--tenant-id", "00000000-0000-0000-0000-00000000a002", "--location", parameters["location"], "--deployment-name", "azd");
            var output = Path.ChangeExtension(file, ".snapshot.json");
            Assert.True(result.ExitCode == 0 && File.Exists(output), $"bicep snapshot failed for:\n{text}\n{result}");
            var json = JsonNode.Parse(await File.ReadAllTextAsync(output))!.AsObject();
            Assert.True(json["diagnostics"]!.AsArray().Count == 0, $"bicep snapshot diagnostics: {json["diagnostics"]!.ToJsonString()}");
            return new BicepSnapshot(json, parameters);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The resources of one type.</summary>
    public IEnumerable<JsonObject> Resources(string type) =>
        Json["predictedResources"]!.AsArray().Select(r => r!.AsObject()).Where(r => (string)r["type"]! == type);

    /// <summary>The Function App's app settings as the template writes them (ARM expressions left as text).</summary>
    public IReadOnlyDictionary<string, string> AppSettings()
    {
        var config = Assert.Single(Resources("Microsoft.Web/sites/config"), r => ((string)r["name"]!).EndsWith("/appsettings", StringComparison.Ordinal));
        return config["properties"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal);
    }

    /// <summary>An output: a string, or the JSON of an array/object.</summary>
    public string Output(string name) => Json["outputs"]![name] is JsonValue v ? (string)v! : Json["outputs"]![name]!.ToJsonString();

    /// <summary>Whether a value is an ARM expression the deployment evaluates (<c>[...]</c>; <c>[[</c> escapes a literal).</summary>
    public static bool IsExpression(string value) =>
        value.StartsWith('[') && !value.StartsWith("[[", StringComparison.Ordinal) && value.EndsWith(']');

    private static Dictionary<string, string> ParameterTypes(string mainBicep) =>
        ParameterDeclaration().Matches(mainBicep).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["type"].Value, StringComparer.Ordinal);

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z0-9_]+)(=(?<default>[^}]*))?\}")]
    private static partial Regex AzdSubstitution();

    [GeneratedRegex(@"(?m)^param (?<name>\w+) (?<type>\w+)")]
    private static partial Regex ParameterDeclaration();
}
