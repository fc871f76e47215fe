namespace MtaFunctions.Client.Contract;

/// <summary>
/// Queue, container and table names shared by producers, the delivery functions and the CLI.
/// </summary>
/// <remarks>Azure queue and container names must be lower case; table names are alphanumeric.</remarks>
public static class StorageNames
{
    /// <summary>The queue producers write envelopes to; the delivery function is triggered by it.</summary>
    public const string OutboundQueue = "outbound";

    /// <summary>Where envelopes that can never be delivered go, wrapped with the reason.</summary>
    public const string OutboundPoisonQueue = "outbound-poison";

    /// <summary>Blob container holding message bodies too large to travel inline.</summary>
    public const string MessageContainer = "outbound-messages";

    /// <summary>Per-recipient delivery state (partition = message id, row = recipient).</summary>
    public const string DeliveriesTable = "Deliveries";

    /// <summary>TLS reports other senders sent about our domains (partition = policy domain, row = day + report key).</summary>
    public const string ReceivedTlsReportsTable = "ReceivedTlsReports";

    /// <summary>Blob container keeping every received TLS report exactly as it arrived (decompressed), for audit.</summary>
    public const string ReceivedTlsReportContainer = "tlsrpt-received";
    /// <summary>TLS session counts for outgoing TLS reports (partition = UTC hour, row = instance + flush).</summary>
    public const string TlsResultsTable = "TlsResults";

    /// <summary>Outgoing TLS report plans and per-rua send state (once per domain, period and rua).</summary>
    public const string SentTlsReportsTable = "SentTlsReports";

    /// <summary>The app setting / environment variable holding the storage connection string.</summary>
    public const string ConnectionSetting = "AzureWebJobsStorage";

    /// <summary>Fleet-wide connection slots, rate windows and back-off per destination (partition = MX host or route).</summary>
    public const string DestinationLimitsTable = "DestinationLimits";

    /// <summary>
    /// Outbound queue messages each live instance is working on, with their pop receipts (partition = queue,
    /// row = instance): another instance makes a dead instance's messages visible again at once.
    /// </summary>
    public const string InFlightTable = "InFlight";

    /// <summary>Cached MTA-STS policies (partition = policy domain).</summary>
    public const string StsPoliciesTable = "StsPolicies";
}
