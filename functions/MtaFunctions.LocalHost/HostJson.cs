using System.Text.Json;
using Microsoft.Azure.WebJobs.Host;

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
                switch (p.Name.ToLowerInvariant())
                {
                    case "batchsize": options.BatchSize = p.Value.GetInt32(); break;
                    case "newbatchthreshold": options.NewBatchThreshold = p.Value.GetInt32(); break;
                    case "maxdequeuecount": options.MaxDequeueCount = p.Value.GetInt32(); break;
                    case "visibilitytimeout": options.VisibilityTimeout = TimeSpan.Parse(p.Value.GetString()!, System.Globalization.CultureInfo.InvariantCulture); break;
                    case "maxpollinginterval": options.MaxPollingInterval = TimeSpan.Parse(p.Value.GetString()!, System.Globalization.CultureInfo.InvariantCulture); break;
                    case "messageencoding":
                        options.MessageEncoding = Enum.Parse<Azure.Storage.Queues.QueueMessageEncoding>(p.Value.GetString()!, ignoreCase: true);
                        break;
                }
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{path}: extensions.queues.{p.Name}: {e.Message}", e);
            }
        }
    }
}
