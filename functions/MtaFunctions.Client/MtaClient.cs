using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using MimeKit;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Client;

/// <summary>
/// What a producer app uses: enqueue mail for delivery and read each recipient's delivery state.
/// </summary>
/// <remarks>
/// The storage account is the one the Function App uses (<c>AzureWebJobsStorage</c>). With a connection
/// string use <see cref="MtaClient(string)"/>; with managed identity build the three service clients with a
/// <c>TokenCredential</c> and use the other constructor.
/// </remarks>
public sealed class MtaClient
{
    private readonly OutboundQueueWriter _writer;
    private readonly TableClient _deliveries;
    private readonly TimeProvider _time;

    /// <summary>Creates a client from a storage connection string.</summary>
    public MtaClient(string connectionString, TimeProvider? time = null)
        : this(
            new QueueServiceClient(connectionString, OutboundQueueWriter.QueueOptions),
            new BlobServiceClient(connectionString),
            new TableServiceClient(connectionString),
            time)
    {
    }

    /// <summary>Creates a client from service clients (identity-based access).</summary>
    public MtaClient(QueueServiceClient queues, BlobServiceClient blobs, TableServiceClient tables, TimeProvider? time = null)
    {
        _writer = new OutboundQueueWriter(
            queues.GetQueueClient(StorageNames.OutboundQueue),
            blobs.GetBlobContainerClient(StorageNames.MessageContainer));
        _deliveries = tables.GetTableClient(StorageNames.DeliveriesTable);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The default of <see cref="MaxMessageSize"/>: the delivery side's <c>Queue:Outbound:MaxMessageSize</c> default.</summary>
    public const long DefaultMaxMessageSize = 26_214_400;

    /// <summary>Largest message accepted for queueing, in bytes; set it to the app's <c>Queue:Outbound:MaxMessageSize</c>.</summary>
    public long MaxMessageSize { get; init; } = DefaultMaxMessageSize;

    /// <summary>
    /// This producer's host name, put in each envelope (<see cref="OutboundEnvelope.Submitter"/>) for the
    /// <c>from</c> clause of the MTA's Received: field. Default: the machine's host name when it is a valid
    /// domain; null leaves the clause out.
    /// </summary>
    /// <exception cref="EnvelopeFormatException">The name is not a host name.</exception>
    public string? Submitter
    {
        get => _submitter;
        init => _submitter = value is null || EnvelopeSerializer.IsSubmitterName(value)
            ? value
            : throw new EnvelopeFormatException("submitter", $"'{value}' is not a host name (letters, digits, inner hyphens, dot-separated labels)");
    }

    private readonly string? _submitter = LocalHostName();

    private static string? LocalHostName()
    {
        try
        {
            var name = System.Net.Dns.GetHostName();
            return EnvelopeSerializer.IsSubmitterName(name) ? name : null;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null;
        }
    }

    /// <summary>Creates the queue, container and table when missing (local runs; infra creates them in Azure).</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await _writer.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await _deliveries.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a MIME message.</summary>
    /// <param name="message">The message; its bytes are sent as written here.</param>
    /// <param name="envelopeFrom">MAIL FROM; defaults to the message's Sender or first From address.</param>
    /// <param name="recipients">RCPT TO; defaults to To, Cc and Bcc of the message.</param>
    /// <param name="cancellationToken">Cancels the enqueue.</param>
    /// <returns>The message id, for <see cref="GetStatusAsync"/>.</returns>
    /// <exception cref="EnvelopeFormatException">No sender or recipient could be found, one is not an address, or the message is larger than <see cref="MaxMessageSize"/>.</exception>
    public async Task<string> SendAsync(
        MimeMessage message, string? envelopeFrom = null, IEnumerable<string>? recipients = null,
        CancellationToken cancellationToken = default)
    {
        var from = envelopeFrom ?? (message.Sender ?? message.From.Mailboxes.FirstOrDefault())?.Address
            ?? throw new EnvelopeFormatException("from", "no envelope sender given and the message has no From");
        var to = (recipients ?? message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).Select(m => m.Address))
            .ToList();

        // Bcc must not travel in the headers (RFC 5322 §3.6.3); MailKit hides it on send, but the bytes we store are final.
        message.Bcc.Clear();
        using var buffer = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default, buffer, cancellationToken).ConfigureAwait(false);
        return await SendRawAsync(buffer.ToArray(), from, to, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues a raw RFC 5322 message (an .eml stream) as is.</summary>
    /// <returns>The message id.</returns>
    /// <exception cref="EnvelopeFormatException">An address is not one mailbox, or a line is longer than 998 octets.</exception>
    public async Task<string> SendAsync(
        Stream eml, string envelopeFrom, IEnumerable<string> recipients, CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        await eml.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return await SendRawAsync(buffer.ToArray(), envelopeFrom, recipients.ToList(), cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> SendRawAsync(byte[] rfc5322, string from, List<string> to, CancellationToken cancellationToken)
    {
        if (rfc5322.Length > MaxMessageSize)
        {
            // Refused here rather than bounced later: the producer learns it at once and nothing is stored.
            throw new EnvelopeFormatException("message", $"{rfc5322.Length} bytes is larger than the maximum message size {MaxMessageSize} (Queue:Outbound:MaxMessageSize)");
        }

        MessageLines.CheckLength(rfc5322);
        var id = NewMessageId(_time);
        await _writer.EnqueueNewAsync(id, from, to, rfc5322, _time.GetUtcNow(), cancellationToken, Submitter).ConfigureAwait(false);
        return id;
    }

    /// <summary>Each recipient's delivery state; empty while no attempt has finished.</summary>
    public async Task<IReadOnlyList<DeliveryRecord>> GetStatusAsync(string messageId, CancellationToken cancellationToken = default)
    {
        var rows = new List<DeliveryRecord>();
        await foreach (var row in _deliveries.QueryAsync<DeliveryRecord>(DeliveryKeys.MessageFilter(messageId), cancellationToken: cancellationToken)
                           .ConfigureAwait(false))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>A new message id: sortable by time, unique (UUIDv7, in its standard form that <see cref="DeliveryKeys"/> stores in shared partitions).</summary>
    public static string NewMessageId(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("D");
}
