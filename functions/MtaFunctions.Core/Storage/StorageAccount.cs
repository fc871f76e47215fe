using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// The app's storage account (queues, tables, blobs), from the same settings the Functions host uses:
/// <c>AzureWebJobsStorage</c> as a connection string, or identity-based
/// <c>AzureWebJobsStorage__queueServiceUri</c> / <c>__tableServiceUri</c> / <c>__blobServiceUri</c>
/// with <c>__credential=managedidentity</c> and <c>__clientId</c>.
/// </summary>
public sealed class StorageAccount
{
    private StorageAccount(QueueServiceClient queues, TableServiceClient tables, BlobServiceClient blobs)
    {
        Queues = queues;
        Tables = tables;
        Blobs = blobs;
    }

    public QueueServiceClient Queues { get; }
    public TableServiceClient Tables { get; }
    public BlobServiceClient Blobs { get; }

    /// <summary>From a connection string (Azurite, tests, CLI).</summary>
    /// <param name="connectionString">The storage connection string.</param>
    /// <param name="policy">An extra pipeline policy on every request (benchmarks count transactions with it).</param>
    public static StorageAccount FromConnectionString(string connectionString, HttpPipelinePolicy? policy = null)
    {
        var queueOptions = OutboundQueueWriter.QueueOptions;
        var tableOptions = new TableClientOptions();
        var blobOptions = new BlobClientOptions();
        if (policy is not null)
        {
            queueOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
            tableOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
            blobOptions.AddPolicy(policy, HttpPipelinePosition.PerCall);
        }

        return new StorageAccount(
            new QueueServiceClient(connectionString, queueOptions),
            new TableServiceClient(connectionString, tableOptions),
            new BlobServiceClient(connectionString, blobOptions));
    }

    /// <summary>From configuration, as the Functions host reads <c>AzureWebJobsStorage</c>.</summary>
    /// <param name="config">The app's configuration.</param>
    /// <param name="credential">The Entra ID credential for service URIs; default: as the host chooses it
    /// (<c>__credential=managedidentity</c>, else <see cref="DefaultAzureCredential"/>).</param>
    /// <param name="configure">Adjusts the client options (a test's trusted CA, a counting policy).</param>
    /// <exception cref="SettingsException">Neither a connection string nor service URIs are set.</exception>
    public static StorageAccount FromConfiguration(IConfiguration config, TokenCredential? credential = null, Action<ClientOptions>? configure = null)
    {
        const string key = StorageNames.ConnectionSetting;
        if (SettingsReader.Text(config, key) is { } connectionString)
        {
            return FromConnectionString(connectionString);
        }

        var section = config.GetSection(key);
        var queueUri = Uri(section, "queueServiceUri");
        var tableUri = Uri(section, "tableServiceUri");
        var blobUri = Uri(section, "blobServiceUri");
        if (queueUri is null || tableUri is null || blobUri is null)
        {
            throw new SettingsException(key, "set a connection string, or all of __queueServiceUri, __tableServiceUri and __blobServiceUri");
        }

        credential ??= string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(section["clientId"] is { Length: > 0 } id ? ManagedIdentityId.FromUserAssignedClientId(id) : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential();
        return FromServiceUris(queueUri, tableUri, blobUri, credential, configure);
    }

    /// <summary>From service URIs with an Entra ID token credential (keyless accounts).</summary>
    public static StorageAccount FromServiceUris(Uri queueUri, Uri tableUri, Uri blobUri, TokenCredential credential, Action<ClientOptions>? configure = null)
    {
        var queueOptions = OutboundQueueWriter.QueueOptions;
        var tableOptions = new TableClientOptions();
        if (tableUri.IsLoopback)
        {
            // The Tables SDK guesses Cosmos DB's audience for hosts it does not know; a local emulator is storage.
            tableOptions.Audience = new TableAudience("https://storage.azure.com");
        }

        var blobOptions = new BlobClientOptions();
        configure?.Invoke(queueOptions);
        configure?.Invoke(tableOptions);
        configure?.Invoke(blobOptions);
        return new StorageAccount(
            new QueueServiceClient(queueUri, credential, queueOptions),
            new TableServiceClient(tableUri, credential, tableOptions),
            new BlobServiceClient(blobUri, credential, blobOptions));
    }

    private static Uri? Uri(IConfigurationSection section, string name) =>
        section[name] is { Length: > 0 } text
            ? System.Uri.TryCreate(text, UriKind.Absolute, out var uri) ? uri : throw new SettingsException($"{section.Path}__{name}", $"'{text}' is not an absolute URI")
            : null;

    /// <summary>The outbound queue writer over this account.</summary>
    public OutboundQueueWriter OutboundWriter() => new(
        Queues.GetQueueClient(StorageNames.OutboundQueue),
        Blobs.GetBlobContainerClient(StorageNames.MessageContainer));
}
