using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Operations;

/// <summary>
/// Reads what the outbound dashboard needs from what delivery already stores: the Deliveries rows whose last
/// attempt ended in a range of hours, the deferred rows (their queuedAt), and the outbound queue's count and
/// visible head. Every query is bounded: the range is at most <see cref="MaxHours"/> and at most
/// <see cref="MaxRows"/> rows are read per query.
/// </summary>
public sealed class OutboundSummaryReader(StorageAccount storage, TimeProvider time)
{
    /// <summary>The longest range, in hours (a week).</summary>
    public const int MaxHours = 168;

    /// <summary>The most rows one query reads; beyond it the summary says it is truncated.</summary>
    public const int MaxRows = 20_000;

    // Only the columns the summary reads: rows stay small whatever the replies and policy details hold.
    private static readonly string[] Columns =
    [
        nameof(DeliveryRecord.Recipient), nameof(DeliveryRecord.State), nameof(DeliveryRecord.LastReply), nameof(DeliveryRecord.LastAttemptAt),
        nameof(DeliveryRecord.MxHost), nameof(DeliveryRecord.TlsVersion), nameof(DeliveryRecord.CertificateVerified),
        nameof(DeliveryRecord.PolicyApplied), nameof(DeliveryRecord.PolicyDetail),
    ];

    private readonly TableClient _deliveries = storage.Tables.GetTableClient(StorageNames.DeliveriesTable);

    /// <summary>The most rows one query reads (<see cref="MaxRows"/>; smaller in tests).</summary>
    internal int RowCap { get; init; } = MaxRows;

    /// <summary>The summary of the last <paramref name="hours"/> hours (the current hour included).</summary>
    public async Task<OutboundSummary> ReadAsync(int hours, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(hours, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(hours, MaxHours);
        var now = time.GetUtcNow();
        var from = OutboundSummaryBuilder.HourOf(now).AddHours(1 - hours);

        var (rows, truncated) = await RowsAsync(TableClient.CreateQueryFilter($"LastAttemptAt ge {from} and LastAttemptAt le {now}"), Columns, cancellationToken).ConfigureAwait(false);
        var queue = await QueueAsync(now, cancellationToken).ConfigureAwait(false);
        return OutboundSummaryBuilder.Build(from, now, rows, truncated, queue);
    }

    private async Task<OutboundQueueState> QueueAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (deferred, truncated) = await RowsAsync(
            TableClient.CreateQueryFilter($"State eq {nameof(DeliveryState.Deferred)}"), [nameof(DeliveryRecord.PartitionKey), nameof(DeliveryRecord.RowKey), nameof(DeliveryRecord.QueuedAt)], cancellationToken).ConfigureAwait(false);
        var oldest = deferred.Min(r => r.QueuedAt);

        var queue = storage.Queues.GetQueueClient(StorageNames.OutboundQueue);
        long? length;
        try
        {
            length = (await queue.GetPropertiesAsync(cancellationToken).ConfigureAwait(false)).Value.ApproximateMessagesCount;

            // Deferred retries are hidden and listed by their rows; the visible head (a peek returns at most 32) holds new messages.
            var peeked = (await queue.PeekMessagesAsync(32, cancellationToken).ConfigureAwait(false)).Value;
            oldest = new[] { oldest, EnvelopeSerializer.OldestQueuedAt(peeked.Select(m => m.Body.ToString())) }.Min();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            length = null;
        }

        var age = oldest is { } o ? Math.Max(0, Math.Round((now - o).TotalSeconds)) : (double?)null;
        return new OutboundQueueState(length, oldest, age, deferred.Select(r => r.MessageId()).Distinct(StringComparer.Ordinal).Count(), truncated);
    }

    private async Task<(List<DeliveryRecord> Rows, bool Truncated)> RowsAsync(string filter, IEnumerable<string> columns, CancellationToken cancellationToken)
    {
        var rows = new List<DeliveryRecord>();
        try
        {
            await foreach (var row in _deliveries.QueryAsync<DeliveryRecord>(filter, maxPerPage: 1000, select: columns, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (rows.Count == RowCap)
                {
                    return (rows, true);
                }

                rows.Add(row);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // No table yet: nothing was ever attempted.
        }

        return (rows, false);
    }
}
