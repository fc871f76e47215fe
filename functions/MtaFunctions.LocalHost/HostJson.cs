using System.Text.Json;
using Microsoft.Azure.WebJobs.Host;
using Microsoft.Extensions.Configuration;

namespace MtaFunctions.LocalHost;

/// <summary>Applies the Function App's host.json queue options to the WebJobs host, so both behave alike.</summary>
public static class HostJson
{
    /// <summary>Copies <c>extensions.queues</c> of <paramref name="path"/> into <paramref name="options"/>.</summary>
    /// <exception cref="InvalidDataException">A value has the wrong type; the message names it.</exception>
    public static void ApplyQueueOptions(string path, QueuesOptions options)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!doc.RootElement.TryGetProperty("extensions", out var extensions) || !extensions.TryGetProperty("queues", out var queues))
        {
            return;
        }

        foreach (var p in queues.EnumerateObject())
        {
            try
            {
                Apply(options, p.Name, p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetRawText() : p.Value.GetString()!);
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or OverflowException)
            {
                throw new InvalidDataException($"{path}: extensions.queues.{p.Name}: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// Applies app settings <c>AzureFunctionsJobHost__extensions__queues__*</c> over host.json, as the Functions host
    /// does (e.g. <c>AzureFunctionsJobHost__extensions__queues__batchSize=32</c>).
    /// </summary>
    /// <exception cref="InvalidDataException">A value is not valid; the message names the setting.</exception>
    public static void ApplyQueueOverrides(IConfiguration configuration, QueuesOptions options)
    {
        foreach (var setting in configuration.GetSection(OverridePrefix).GetChildren())
        {
            if (setting.Value is null)
            {
                continue;
            }

            try
            {
                Apply(options, setting.Key, setting.Value);
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException or OverflowException)
            {
                throw new InvalidDataException($"{OverridePrefix}:{setting.Key}: {e.Message}", e);
            }
        }
    }

    private const string OverridePrefix = "AzureFunctionsJobHost:extensions:queues";

    private static void Apply(QueuesOptions options, string name, string value)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        switch (name.ToLowerInvariant())
        {
            case "batchsize": options.BatchSize = int.Parse(value, invariant); break;
            case "newbatchthreshold": options.NewBatchThreshold = int.Parse(value, invariant); break;
            case "maxdequeuecount": options.MaxDequeueCount = int.Parse(value, invariant); break;
            case "visibilitytimeout": options.VisibilityTimeout = TimeSpan.Parse(value, invariant); break;
            case "maxpollinginterval": options.MaxPollingInterval = TimeSpan.Parse(value, invariant); break;
            case "messageencoding": options.MessageEncoding = Enum.Parse<Azure.Storage.Queues.QueueMessageEncoding>(value, ignoreCase: true); break;
        }
    }
}
