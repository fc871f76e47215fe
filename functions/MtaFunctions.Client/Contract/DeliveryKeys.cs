using System.Buffers;
using Azure.Data.Tables;

namespace MtaFunctions.Client.Contract;

/// <summary>
/// Where a message's rows live in the <see cref="StorageNames.DeliveriesTable"/> table: a pure function of the
/// message id, so every reader and writer finds them without an index.
/// </summary>
/// <remarks>
/// <para>
/// Shared layout, for ids in the standard UUID version 7 form (8-4-4-4-12 hex, what <see cref="MtaClient"/>
/// makes): partition <c>t:</c> + the id's first 8 hex digits, that is the top 32 bits of its millisecond
/// timestamp, one partition per 65.5 s of enqueued messages; row key <c>id|recipient</c>. Messages queued at about
/// the same time are delivered at about the same time, so the delivery reads their state with one query and
/// writes their rows with one transaction, many messages each (an Azure table transaction and a cheap query
/// both need one partition).
/// </para>
/// <para>
/// Own layout, for every other id (a producer's own ids, and the 32-digit ids of clients before the shared
/// layout, whose rows are stored that way): partition = the id, row key = the recipient. Rows written before the
/// shared layout existed are therefore found where they are, without a migration.
/// </para>
/// </remarks>
public static class DeliveryKeys
{
    /// <summary>Partition prefix of the shared layout; <c>:</c> is not an id character, so no id equals a shared partition.</summary>
    public const string SharedPartitionPrefix = "t:";

    /// <summary>Separates the id from the recipient in a shared-layout row key; not an id character.</summary>
    public const char Separator = '|';

    // The character after the separator: the exclusive upper bound of one message's row keys.
    private const char AfterSeparator = '}';

    private static readonly SearchValues<char> Hex = SearchValues.Create("0123456789abcdef");

    /// <summary>Whether the id's rows share a partition with other messages'.</summary>
    public static bool IsShared(string messageId) =>
        messageId.Length == 36 && messageId[8] == '-' && messageId[13] == '-' && messageId[18] == '-' && messageId[23] == '-'
        && messageId[14] == '7' && messageId[19] is '8' or '9' or 'a' or 'b'
        && !messageId.AsSpan(0, 8).ContainsAnyExcept(Hex) && !messageId.AsSpan(9, 4).ContainsAnyExcept(Hex)
        && !messageId.AsSpan(14, 4).ContainsAnyExcept(Hex) && !messageId.AsSpan(19, 4).ContainsAnyExcept(Hex)
        && !messageId.AsSpan(24, 12).ContainsAnyExcept(Hex);

    /// <summary>The partition of a message's rows.</summary>
    public static string Partition(string messageId) =>
        IsShared(messageId) ? string.Concat(SharedPartitionPrefix, messageId.AsSpan(0, 8)) : messageId;

    /// <summary>The row key of one recipient of a message.</summary>
    public static string Row(string messageId, string recipient) =>
        IsShared(messageId) ? $"{messageId}{Separator}{RecipientKey(recipient)}" : RecipientKey(recipient);

    /// <summary>A recipient as a key: lower-cased and escaped so that any RFC 5321 address is valid in a table key (no / \ # ?).</summary>
    public static string RecipientKey(string recipient) => Uri.EscapeDataString(recipient.ToLowerInvariant());

    /// <summary>The recipient key of a stored row, whichever layout it is in.</summary>
    public static string RecipientKeyOf(DeliveryRecord row) => SeparatorAt(row) is var at and >= 0 ? row.RowKey[(at + 1)..] : row.RowKey;

    /// <summary>The message id of a stored row, whichever layout it is in.</summary>
    public static string MessageIdOf(DeliveryRecord row) => SeparatorAt(row) is var at and >= 0 ? row.RowKey[..at] : row.PartitionKey;

    // Where the id ends in a shared-layout row key; -1 in the own layout (the row key is the recipient alone).
    private static int SeparatorAt(DeliveryRecord row) =>
        row.PartitionKey.StartsWith(SharedPartitionPrefix, StringComparison.Ordinal) ? row.RowKey.IndexOf(Separator, StringComparison.Ordinal) : -1;

    /// <summary>A table filter for every row of one message.</summary>
    public static string MessageFilter(string messageId) =>
        IsShared(messageId)
            ? TableClient.CreateQueryFilter($"PartitionKey eq {Partition(messageId)} and RowKey gt {messageId + Separator} and RowKey lt {messageId + AfterSeparator}")
            : TableClient.CreateQueryFilter($"PartitionKey eq {messageId}");

    /// <summary>
    /// The comparisons (after the partition's) that select one message's rows within its shared partition: the
    /// recipient's row when it has one recipient, else the range of the id's row keys.
    /// </summary>
    /// <returns>The filter clause and how many comparisons it holds (a table query allows 15 in all).</returns>
    public static (string Clause, int Comparisons) RowsClause(string messageId, string? onlyRecipient) =>
        onlyRecipient is not null
            ? (TableClient.CreateQueryFilter($"RowKey eq {Row(messageId, onlyRecipient)}"), 1)
            : (TableClient.CreateQueryFilter($"(RowKey gt {messageId + Separator} and RowKey lt {messageId + AfterSeparator})"), 2);
}
