using Azure;
using Azure.Data.Tables;

namespace MtaFunctions.Client.Contract;

/// <summary>
/// One row of the <see cref="StorageNames.DeliveriesTable"/> table: one recipient of one message.
/// Written by the delivery after every attempt; read by the delivery (to never send twice to an accepted
/// recipient) and by <c>mta status</c>.
/// </summary>
public sealed class DeliveryRecord : ITableEntity
{
    /// <summary>An empty row (what the table client fills when it reads one).</summary>
    public DeliveryRecord()
    {
    }

    /// <summary>The row of one recipient of a message, keyed in the message's layout (<see cref="DeliveryKeys"/>).</summary>
    public DeliveryRecord(string messageId, string recipient)
    {
        PartitionKey = DeliveryKeys.Partition(messageId);
        RowKey = DeliveryKeys.Row(messageId, recipient);
        Recipient = recipient;
    }

    /// <summary>The message's partition, <see cref="DeliveryKeys.Partition"/>: the message id, or a time slice shared with other messages.</summary>
    public string PartitionKey { get; set; } = "";

    /// <summary>The recipient, <see cref="DeliveryKeys.Row"/>: its escaped address, after the message id in a shared partition.</summary>
    public string RowKey { get; set; } = "";

    /// <inheritdoc />
    public DateTimeOffset? Timestamp { get; set; }

    /// <inheritdoc />
    public ETag ETag { get; set; }

    /// <summary>The recipient address as queued; shown by status.</summary>
    public string Recipient { get; set; } = "";

    /// <summary><see cref="DeliveryState"/> name; the delivery skips final ones.</summary>
    public string State { get; set; } = nameof(DeliveryState.Pending);

    /// <summary>Attempts made so far; drives the retry schedule shown to operators.</summary>
    public int Attempts { get; set; }

    /// <summary>The last SMTP reply or local error, e.g. "450 4.2.1 Mailbox busy"; for status and DSNs.</summary>
    public string? LastReply { get; set; }

    /// <summary>When the last attempt finished.</summary>
    public DateTimeOffset? LastAttemptAt { get; set; }

    /// <summary>When the next attempt is due (deferred only).</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    /// <summary>MX host name of the last session.</summary>
    public string? MxHost { get; set; }

    /// <summary>IP address of the last session.</summary>
    public string? RemoteIp { get; set; }

    /// <summary>Negotiated TLS version ("Tls13"), or null for plaintext.</summary>
    public string? TlsVersion { get; set; }

    /// <summary>Negotiated cipher suite, e.g. TLS_AES_256_GCM_SHA384.</summary>
    public string? TlsCipher { get; set; }

    /// <summary>Subject of the server certificate.</summary>
    public string? CertificateSubject { get; set; }

    /// <summary>Whether the certificate passed the check the policy demanded (PKIX or DANE).</summary>
    public bool? CertificateVerified { get; set; }

    /// <summary>The transport policy applied: none, starttls, sts, dane, tls-required-no.</summary>
    public string? PolicyApplied { get; set; }

    /// <summary>Detail of the policy: STS mode and id, the TLSA record that matched, ...</summary>
    public string? PolicyDetail { get; set; }

    /// <summary>When the message was queued (the envelope's queuedAt): the age <c>mta queue list</c> shows.</summary>
    public DateTimeOffset? QueuedAt { get; set; }

    /// <summary>Queue message id of the pending retry (deferred only): lets an operator make it visible now.</summary>
    public string? RetryMessageId { get; set; }

    /// <summary>Pop receipt of that retry message, as returned when it was queued.</summary>
    public string? RetryPopReceipt { get; set; }

    /// <summary>
    /// Set by an operator's <c>mta queue cancel</c>: <c>bounce</c> (a DSN goes to the sender) or <c>drop</c>
    /// (no DSN); the next attempt ends the recipient that way instead of delivering.
    /// </summary>
    public string? CancelRequested { get; set; }

    /// <summary>The parsed state.</summary>
    public DeliveryState ParsedState =>
        Enum.TryParse<DeliveryState>(State, out var s) ? s : DeliveryState.Pending;

    /// <summary>The message this row belongs to.</summary>
    public string MessageId() => DeliveryKeys.MessageIdOf(this);

}
