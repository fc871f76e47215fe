using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace MtaFunctions.Core.Configuration;

/// <summary>
/// Reads the Function App's <c>local.settings.json</c> (its <c>Values</c>, where <c>__</c> separates
/// sections) so that LocalHost and the <c>mta</c> tool run with exactly the settings <c>func start</c> would use.
/// </summary>
public static class LocalSettings
{
    /// <summary>Adds the Values of <paramref name="path"/> when the file exists.</summary>
    public static IConfigurationBuilder AddLocalSettings(this IConfigurationBuilder builder, string path)
    {
        if (!File.Exists(path))
        {
            return builder;
        }

        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (doc.RootElement.TryGetProperty("Values", out var section))
        {
            foreach (var property in section.EnumerateObject())
            {
                values[property.Name.Replace("__", ":", StringComparison.Ordinal)] = property.Value.ValueKind == JsonValueKind.String
                    ? property.Value.GetString()
                    : property.Value.GetRawText();
            }
        }

        return builder.AddInMemoryCollection(values);
    }
}
